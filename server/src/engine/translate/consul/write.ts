import { InventoryIndex } from '../../inventory/inventoryIndex';
import { matchesLabels, type ServiceInfo, type WorkloadInfo } from '../../inventory/inventory';
import type { SourceRef } from '../../simulate/types';
import { dnsName, YamlWriter } from '../../audit/generate/yaml';
import { consulServicesOf } from '../identities';
import type { AccessModel, AccessRule, HeaderCondition, Protection, TranslationContext, TranslationNote, WrittenPolicies } from '../model';

/**
 * The access model into consul-k8s ServiceIntentions (consul.hashicorp.com/v1alpha1), one per
 * destination Consul service. Consul decides a caller by its most specific source (an exact
 * service before `*`) and inside a source by the first permission that matches, so every
 * source carries, besides its own rules, the rules the model gives any caller: its deny
 * permissions first, then its allow permissions, then — where an allow protection applies — a
 * deny of every other request. The `*` source denies (L4) every caller no source names, so the
 * default intention policy never decides a call an allow protection governs.
 */

const WILDCARD = '*';

/** One HTTP match of a permission; undefined fields are not tested. */
interface HttpMatch {
  pathExact?: string;
  pathPrefix?: string;
  pathRegex?: string;
  methods?: string[];
  headers: { name: string; exact?: string }[];
}

/** A rule as one source sees it: every request (`http` undefined) or some HTTP matches. */
interface SourceRule {
  action: 'allow' | 'deny';
  origin: SourceRef;
  http?: HttpMatch[];
}

interface Destination {
  service: string;
  namespace: string | undefined;
  own: Protection[];
}

export function writeConsul(model: AccessModel, context: TranslationContext): WrittenPolicies {
  const notes: TranslationNote[] = [];
  const index = InventoryIndex.of(context.inventory);
  const destinations = new Map<string, Destination>();
  const meshWide: Protection[] = [];
  for (const p of model.protections) {
    if (p.target.namespace === '*' && !p.target.labels) {
      meshWide.push(p);
      continue;
    }
    for (const { service, namespace } of destinationsOf(p, index, notes)) {
      const d = destinations.get(service) ?? { service, namespace, own: [] };
      if (!d.own.includes(p)) d.own.push(p);
      destinations.set(service, d);
    }
  }
  for (const p of model.protections) if (p.ports?.length) notes.push(portsNote(p, p.ports, [...destinations.values()].filter((d) => d.own.includes(p)), index));
  const out = new YamlWriter();
  const names = new Set<string>();
  let resources = 0;
  const ordered = [...destinations.values()].sort((a, b) => (a.service < b.service ? -1 : a.service > b.service ? 1 : 0));
  if (meshWide.length) ordered.push({ service: WILDCARD, namespace: undefined, own: [] });
  for (const d of ordered) {
    const protections = [...d.own, ...meshWide];
    const wildcardDest = d.service === WILDCARD;
    const governed = protections.some((p) => p.action === 'allow');
    const bySource = new Map<string, SourceRule[]>();
    const add = (source: string, rule: SourceRule): void => {
      const list = bySource.get(source) ?? [];
      list.push(rule);
      bySource.set(source, list);
    };
    for (const p of protections) {
      for (const rule of p.rules) {
        const sources = sourcesOf(rule, p.action, context, notes);
        if (!sources.length) continue;
        const http = httpOf(rule, p.action, notes);
        for (const s of sources) add(s, { action: p.action, origin: rule.origin, ...(http ? { http } : {}) });
      }
    }
    const anyRules = bySource.get(WILDCARD) ?? [];
    const exact = [...bySource.keys()].filter((k) => k !== WILDCARD).sort();
    const first = d.own.find((p) => p.action === 'allow') ?? d.own[0] ?? meshWide.find((p) => p.action === 'allow') ?? meshWide[0]!;
    const body = new YamlWriter();
    let l7 = false;
    const writeSource = (source: string, rules: SourceRule[], note?: string): void => {
      body.line(4, `- name: ${JSON.stringify(source)}`, note);
      const denies = rules.filter((r) => r.action === 'deny');
      const allows = rules.filter((r) => r.action === 'allow');
      const denyAll = denies.find((r) => !r.http);
      const allowAll = allows.find((r) => !r.http);
      if (denyAll || (!denies.length && !allows.length)) {
        body.key(6, 'action', 'deny');
        return;
      }
      if (!denies.length && allowAll) {
        body.key(6, 'action', 'allow');
        return;
      }
      if (wildcardDest) {
        // Consul refuses permissions on a wildcard destination (config_entry_intentions.go Validate).
        const at = (denies[0] ?? allows[0])!.origin;
        if (denies.length) notes.push({ at, effect: 'narrower', text: 'a wildcard destination cannot have permissions: every request of this source is denied' });
        else notes.push({ at, effect: 'narrower', text: 'a wildcard destination cannot have permissions: this source\'s allow rules are left out' });
        body.key(6, 'action', governed || denies.length ? 'deny' : 'allow');
        return;
      }
      l7 = true;
      body.key(6, 'permissions');
      for (const r of denies) for (const m of r.http!) writePermission(body, 'deny', m, r.origin);
      if (allowAll) writePermission(body, 'allow', { pathPrefix: '/', headers: [] }, allowAll.origin);
      else for (const r of allows) for (const m of r.http!) writePermission(body, 'allow', m, r.origin);
      if (governed && !allowAll) writePermission(body, 'deny', { pathPrefix: '/', headers: [] }, undefined, 'every other request');
    };
    for (const source of exact) writeSource(source, [...bySource.get(source)!, ...anyRules]);
    if (governed || anyRules.length) writeSource(WILDCARD, anyRules, governed && !anyRules.some((r) => r.action === 'allow') ? 'every other service' : undefined);
    if (!exact.length && !governed && !anyRules.length) continue;
    out.document();
    for (const p of protections) out.comment(0, `from ${p.origin.file}:${p.origin.range.start.line + 1} ${p.origin.label} (${p.action}${meshWide.includes(p) ? ', every workload' : ''})`);
    if (l7) {
      out.comment(0, `L7 permissions need ${d.service} to have protocol http (ServiceDefaults).`);
      notes.push({ at: first.origin, effect: 'unknown', text: `the permissions written for ${d.service} need its protocol to be http, http2 or grpc (a ServiceDefaults or ProxyDefaults protocol); Consul refuses them for a tcp service` });
    }
    let name = dnsName(first.name);
    if (names.has(name)) name = dnsName(first.name, d.service === WILDCARD ? 'all-services' : d.service);
    for (let i = 2; names.has(name); i++) name = dnsName(first.name, d.service, i);
    names.add(name);
    out.key(0, 'apiVersion', 'consul.hashicorp.com/v1alpha1').key(0, 'kind', 'ServiceIntentions');
    out.key(0, 'metadata').key(2, 'name', name);
    if (d.namespace && d.namespace !== '*') out.key(2, 'namespace', d.namespace);
    out.key(0, 'spec');
    out.key(2, 'destination').key(4, 'name', d.service);
    out.key(2, 'sources');
    resources++;
    outAppend(out, body);
  }
  const seen = new Set<string>();
  const unique = notes.filter((n) => {
    const key = `${n.at.file}\u0000${n.at.range.start.line}\u0000${n.at.label}\u0000${n.effect}\u0000${n.text}`;
    return !seen.has(key) && seen.add(key) !== undefined;
  });
  return { mesh: 'consul', yaml: resources ? out.toString() : '', resources, notes: unique };
}

function outAppend(out: YamlWriter, body: YamlWriter): void {
  const text = body.toString().replace(/\n$/, '');
  if (text) for (const line of text.split('\n')) out.line(0, line);
}

function writePermission(body: YamlWriter, action: 'allow' | 'deny', m: HttpMatch, origin: SourceRef | undefined, note?: string): void {
  body.line(8, `- action: ${action}`, note ?? (origin ? `${origin.file}:${origin.range.start.line + 1}` : undefined));
  body.key(10, 'http');
  if (m.pathExact !== undefined) body.key(12, 'pathExact', m.pathExact);
  if (m.pathPrefix !== undefined) body.key(12, 'pathPrefix', m.pathPrefix);
  if (m.pathRegex !== undefined) body.key(12, 'pathRegex', m.pathRegex);
  if (m.methods?.length) body.list(12, 'methods', m.methods.map((value) => ({ value })));
  if (m.headers.length) {
    body.key(12, 'header');
    for (const h of m.headers) {
      body.key(14, `- name`, h.name);
      if (h.exact !== undefined) body.key(16, 'exact', h.exact);
      else body.line(16, 'present: true');
    }
  }
}

/** The Consul sources a rule's callers are; notes what cannot be named. */
function sourcesOf(rule: AccessRule, action: 'allow' | 'deny', context: TranslationContext, notes: TranslationNote[]): string[] {
  if (!rule.from.length) {
    if (action === 'allow') notes.push({ at: rule.origin, effect: 'narrower', text: 'callers without a mesh identity cannot be allowed: Consul sidecars refuse plaintext connections before intentions (unless MutualTLSMode is permissive)' });
    return [WILDCARD];
  }
  const out = new Set<string>();
  for (const c of rule.from) {
    if (c.networks?.length) {
      if (action === 'allow') {
        notes.push({ at: rule.origin, effect: 'narrower', text: `left out: callers from ${c.networks.map((n) => n.cidr).join(', ')} (Consul intentions match service identities, not addresses)` });
        continue;
      }
      notes.push({ at: rule.origin, effect: 'narrower', text: `the address condition ${c.networks.map((n) => n.cidr).join(', ')} cannot be carried (Consul intentions match service identities): the deny applies from every address` });
    }
    if (!c.identities) {
      if (action === 'allow') notes.push({ at: rule.origin, effect: 'narrower', text: 'callers without a mesh identity cannot be allowed: Consul sidecars refuse plaintext connections before intentions (unless MutualTLSMode is permissive)' });
      out.add(WILDCARD);
      continue;
    }
    for (const id of c.identities) {
      if (id.serviceAccount === '*' && id.namespace !== '*') {
        const services = servicesInNamespace(context, id.namespace);
        notes.push({ at: rule.origin, effect: action === 'allow' ? 'narrower' : 'wider', text: `Consul CE cannot name every service of Kubernetes namespace ${id.namespace}: written for the services the inventory shows there${services.length ? ` (${services.join(', ')})` : ' (none)'}` });
        for (const s of services) out.add(s);
        continue;
      }
      const { services, assumed } = consulServicesOf(context, id);
      if (assumed) notes.push({ at: rule.origin, effect: 'unknown', text: `no Service selects the workloads of service account ${id.namespace}/${id.serviceAccount} in the inventory: its Consul service is assumed to be named ${services[0]}` });
      if (id.namespace !== '*') {
        const elsewhere = context.inventory.services.filter((s) => services.includes(s.name) && s.namespace !== id.namespace).map((s) => `${s.namespace}/${s.name}`).sort();
        if (elsewhere.length) notes.push({ at: rule.origin, effect: action === 'allow' ? 'wider' : 'narrower', text: `Consul CE service names are not per namespace: the source ${services.join(', ')} also names the Services ${elsewhere.join(', ')}` });
      }
      for (const s of services) out.add(s);
    }
  }
  return [...out].sort();
}

function servicesInNamespace(context: TranslationContext, namespace: string): string[] {
  return [...new Set(context.inventory.services.filter((s) => s.namespace === namespace && s.selector && Object.keys(s.selector).length).map((s) => s.name))].sort();
}

/**
 * The HTTP matches of a rule (one per path, header value and request item: Consul's lists are
 * AND, the model's OR); undefined: every request.
 */
function httpOf(rule: AccessRule, action: 'allow' | 'deny', notes: TranslationNote[]): HttpMatch[] | undefined {
  const requests = rule.to.length ? rule.to : [{}];
  if (rule.unless?.length) notes.push({ at: rule.origin, effect: 'narrower', text: `the requests this deny leaves to earlier allows (${rule.unless.map((e) => e.origin.label).join(', ')}) are not carried: the deny permission reaches them too` });
  let anyRequest = false;
  const out: HttpMatch[] = [];
  for (const r of requests) {
    if (r.ports?.length) notes.push({ at: rule.origin, effect: action === 'allow' ? 'wider' : 'narrower', text: `Consul intentions cannot test a port: the ${action} applies to every port, not only ${r.ports.join(', ')}` });
    if (!r.methods && !r.paths && !rule.headers.length) {
      anyRequest = true;
      continue;
    }
    const combinations = headerCombinations(rule.headers);
    const paths = r.paths ?? [undefined];
    if (combinations === undefined || paths.length * combinations.length > MAX_PERMISSIONS_PER_RULE) {
      // Consul ANDs the headers of a permission: one permission per choice of values, which multiply
      const many = `its requests need ${combinations === undefined ? 'more than ' : ''}${(combinations?.length ?? MAX_PERMISSIONS_PER_RULE) * paths.length} permissions (one per path and choice of header values), more than the ${MAX_PERMISSIONS_PER_RULE} written per rule`;
      if (action === 'allow') {
        notes.push({ at: rule.origin, effect: 'narrower', text: `left out: ${many}` });
        continue;
      }
      notes.push({ at: rule.origin, effect: 'narrower', text: `written without its header conditions: ${many}; the deny reaches requests without those headers too` });
    }
    for (const path of paths) {
      for (const headers of combinations && paths.length * combinations.length <= MAX_PERMISSIONS_PER_RULE ? combinations : [[]]) {
        const m: HttpMatch = { headers };
        if (path?.kind === 'exact') m.pathExact = path.value;
        else if (path?.kind === 'prefix') m.pathPrefix = path.value;
        else if (path?.kind === 'regex') m.pathRegex = path.value;
        if (r.methods?.length) m.methods = [...new Set(r.methods.map((x) => x.toUpperCase()))];
        out.push(m);
      }
    }
  }
  return anyRequest ? undefined : out;
}

/** Permissions one model rule may become (its paths times its choices of header values). */
const MAX_PERMISSIONS_PER_RULE = 64;

/** Every choice of one value per header (the model ORs a header's values; Consul ANDs headers);
 * undefined when there would be more than `MAX_PERMISSIONS_PER_RULE`. */
function headerCombinations(headers: HeaderCondition[]): { name: string; exact?: string }[][] | undefined {
  let combos: { name: string; exact?: string }[][] = [[]];
  for (const h of headers) {
    const choices = h.values.length ? h.values.map((v) => ({ name: h.name, exact: v })) : [{ name: h.name }];
    if (combos.length * choices.length > MAX_PERMISSIONS_PER_RULE) return undefined;
    combos = combos.flatMap((c) => choices.map((x) => [...c, x]));
  }
  return combos;
}

/** The Consul services a protection's target workloads register as (the Services selecting them). */
function destinationsOf(p: Protection, index: InventoryIndex, notes: TranslationNote[]): { service: string; namespace: string }[] {
  const workloads = targetWorkloads(p, index);
  const services = new Map<string, ServiceInfo>();
  for (const w of workloads) for (const s of index.servicesFor(w)) services.set(`${s.namespace}/${s.name}`, s);
  if (!p.target.labels && p.target.namespace !== '*') {
    notes.push({ at: p.origin, effect: 'narrower', text: `Consul CE cannot name every service of Kubernetes namespace ${p.target.namespace}: written for the services the inventory shows there${services.size ? '' : ' (none)'}` });
  }
  if (!services.size) {
    const app = p.target.labels?.['app'];
    if (app) {
      notes.push({ at: p.origin, effect: 'unknown', text: `no Service in the inventory selects the target workloads: their Consul service is assumed to be named ${app} (the app label)` });
      return [{ service: app, namespace: p.target.namespace }];
    }
    if (p.target.labels) notes.push({ at: p.origin, effect: p.action === 'allow' ? 'wider' : 'narrower', text: 'left out: no Service in the inventory selects the target workloads and they have no app label, so their Consul service is not known' });
    return [];
  }
  const out: { service: string; namespace: string }[] = [];
  for (const s of [...services.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.namespace < b.namespace ? -1 : 1))) {
    const extra = index.workloadsFor(s).filter((w) => !workloads.includes(w));
    if (extra.length) notes.push({ at: p.origin, effect: 'unknown', text: `the Consul service ${s.name} (Service ${s.namespace}/${s.name}) also has workloads the protection does not target (${extra.map((w) => w.name).join(', ')}): they are governed too` });
    out.push({ service: s.name, namespace: s.namespace });
  }
  return out;
}

function targetWorkloads(p: Protection, index: InventoryIndex): WorkloadInfo[] {
  const labels = p.target.labels;
  return index.inventory.workloads.filter((w) => (p.target.namespace === '*' || w.namespace === p.target.namespace) && w.kind !== 'Pod' && !w.owner && (!labels || matchesLabels(labels, w.labels)));
}

function servicesOfTarget(p: Protection, index: InventoryIndex): ServiceInfo[] {
  return [...new Set(targetWorkloads(p, index).flatMap((w) => index.servicesFor(w)))];
}

/**
 * What writing a protection of some ports for every port of its services does. Its deny of every
 * other caller reaches the ports no other allow protection of the same services governs (allows
 * less there); an allow protection's callers reach the ports other allow protections govern,
 * which may admit fewer callers (allows more there). With neither: `same` when every port of the
 * services is one it governs, `unknown` without an inventory that says.
 */
function portsNote(p: Protection, ports: number[], destinations: Destination[], index: InventoryIndex): TranslationNote {
  const text = `Consul intentions govern every port of a service: this protection of port${ports.length > 1 ? 's' : ''} ${ports.join(', ')} applies to all of them`;
  const services = servicesOfTarget(p, index);
  if (!services.length) return { at: p.origin, effect: 'unknown', text };
  const others = destinations.flatMap((d) => d.own).filter((q) => q !== p && q.action === 'allow');
  const governed = (port: number): boolean => others.some((q) => !q.ports || q.ports.includes(port));
  const otherPorts = services.flatMap((s) => index.workloadsFor(s).flatMap((w) => w.ports.map((wp) => wp.containerPort))).filter((port) => !ports.includes(port));
  const less = otherPorts.some((port) => !governed(port));
  const more = p.action === 'allow' && others.some((q) => !q.ports || q.ports.some((port) => !ports.includes(port)));
  if (less && more) return { at: p.origin, effect: 'unknown', text: `${text}: it admits its callers on ports other protections govern (allows more there) and denies every other caller on ports no other protection governs (allows less there)` };
  if (more) return { at: p.origin, effect: 'wider', text: `${text}: it admits its callers on ports other protections govern` };
  if (less) return { at: p.origin, effect: 'narrower', text };
  const all = services.flatMap((s) => s.ports.map((sp) => [sp.port, typeof sp.targetPort === 'number' ? sp.targetPort : sp.port]));
  return { at: p.origin, effect: all.every((pair) => pair.some((n) => ports.includes(n))) ? 'same' : 'unknown', text };
}

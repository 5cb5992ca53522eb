import { YamlWriter, dnsName, str } from '../../audit/generate/yaml';
import type { SourceRef } from '../../simulate/types';
import { istioPrincipal } from '../identities';
import type { AccessModel, AccessRule, Callers, Protection, Requests, TranslationContext, TranslationNote, WrittenPolicies, Workloads } from '../model';
import { withoutExceptions, type Condition, type Operation } from './exceptions';
import { istioPath } from './paths';
import { ambientTarget, targetProtocol } from './ports';

/**
 * The access model → Istio AuthorizationPolicies (security.istio.io/v1), one per protection
 * (docs/translate/istio.md). Each Callers becomes one or more `from` sources (principals and
 * namespaces cannot share a source, where they would be AND-ed; networks with different
 * exceptions neither), each Requests one `to` operation, headers `when` conditions. A
 * protection that governs some ports only is narrowed to them, and an ALLOW one gets a rule
 * that allows the workload's other ports, as the model leaves them to the mesh's default.
 */

interface Source { principals?: string[]; namespaces?: string[]; ipBlocks?: string[]; notIpBlocks?: string[] }
interface Rule { from?: Source[]; to?: Operation[]; when?: Condition[]; comment?: string }

export function writeIstio(model: AccessModel, context: TranslationContext): WrittenPolicies {
  const body = new YamlWriter();
  const notes: TranslationNote[] = [];
  const names = new Map<string, Set<string>>();
  const perWorkload = otherPortsPerWorkload(model.protections, context, notes);
  const otherPorts = otherPortsRules(model.protections.filter((p) => !perWorkload.covered.has(p)), notes);
  let resources = 0;
  for (const p of model.protections) {
    const namespace = p.target.namespace === '*' ? context.config.istio.rootNamespace : p.target.namespace;
    const rules: Rule[] = [];
    for (const rule of p.rules) rules.push(...ruleOf(rule, p, context, notes));
    const extra = otherPorts.get(p);
    if (extra) rules.push(extra);
    if (p.action === 'deny' && rules.length === 0) {
      if (p.rules.length === 0) notes.push({ at: p.origin, effect: 'same', text: 'A deny protection without rules denies nothing: no DENY policy is written (istiod rejects one without rules).' });
      continue;
    }
    const name = uniqueName(names, namespace, dnsName(p.name));
    body.document();
    body.comment(0, `from ${where(p.origin)}`);
    body.key(0, 'apiVersion', 'security.istio.io/v1').key(0, 'kind', 'AuthorizationPolicy');
    body.key(0, 'metadata').key(2, 'name', name).key(2, 'namespace', namespace);
    body.key(0, 'spec');
    if (p.target.labels && Object.keys(p.target.labels).length) {
      body.key(2, 'selector').key(4, 'matchLabels');
      for (const [k, v] of Object.entries(p.target.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) body.key(6, k, v);
    }
    body.key(2, 'action', p.action === 'allow' ? 'ALLOW' : 'DENY');
    if (ambientTarget(context, p.target) && rules.some((r) => r.when || r.to?.some((o) => o.methods || o.paths))) {
      notes.push({ at: p.origin, effect: 'unknown', text: 'The target is in ambient mode: ztunnel enforces this policy at L4 only, dropping ALLOW rules with methods, paths or headers and ignoring them in DENY rules, unless a waypoint enforces it (attach a copy to the waypoint with targetRefs).' });
    }
    if (rules.length) {
      body.key(2, 'rules');
      for (const rule of rules) writeRule(body, rule);
    } else body.comment(2, 'no rules: allows nothing');
    resources++;
  }
  for (const policy of perWorkload.policies) {
    body.document();
    body.comment(0, `the ports of ${policy.workloads.join(', ')} that no port-limited protection governs (${policy.origins.map((o) => `${o.file}:${o.range.start.line + 1} ${o.label}`).join('; ')})`);
    body.key(0, 'apiVersion', 'security.istio.io/v1').key(0, 'kind', 'AuthorizationPolicy');
    body.key(0, 'metadata').key(2, 'name', uniqueName(names, policy.namespace, dnsName(policy.name, 'other-ports'))).key(2, 'namespace', policy.namespace);
    body.key(0, 'spec');
    body.key(2, 'selector').key(4, 'matchLabels');
    for (const [k, v] of Object.entries(policy.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) body.key(6, k, v);
    body.key(2, 'action', 'ALLOW');
    body.key(2, 'rules');
    writeRule(body, { to: [{ notPorts: policy.ports.map(String) }], comment: `ports other than ${policy.ports.join(', ')}: allowed, as with no policy` });
    resources++;
  }
  return { mesh: 'istio', yaml: resources ? body.toString() : '', resources, notes };
}

function where(ref: SourceRef): string {
  return `${ref.file}:${ref.range.start.line + 1} ${ref.label}`;
}

function uniqueName(names: Map<string, Set<string>>, namespace: string, base: string): string {
  const used = names.get(namespace) ?? new Set<string>();
  names.set(namespace, used);
  let name = base;
  for (let n = 2; used.has(name); n++) name = dnsName(base.slice(0, 60), n);
  used.add(name);
  return name;
}

const keyOf = (t: Workloads) => `${t.namespace}\u0000${JSON.stringify(Object.entries(t.labels ?? {}).sort())}`;
/** Whether two targets may select a workload in common (labels that do not contradict). */
const overlaps = (a: Workloads, b: Workloads) => (a.namespace === b.namespace || a.namespace === '*' || b.namespace === '*') && Object.entries(a.labels ?? {}).every(([k, v]) => b.labels?.[k] === undefined || b.labels[k] === v);

interface OtherPortsPolicy {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  ports: number[];
  workloads: string[];
  origins: SourceRef[];
}

/**
 * Where the inventory knows the workloads: per workload, the ports its port-limited allow
 * protections govern together (a Linkerd Server per port becomes one protection per port, and
 * several Servers may select one workload). A workload that only port-limited allow protections
 * apply to gets one ALLOW policy of its own allowing every other port; workloads with the same
 * labels and ports share it. Protections whose target selects no workload of the inventory are
 * left to `otherPortsRules`.
 */
function otherPortsPerWorkload(protections: readonly Protection[], context: TranslationContext, notes: TranslationNote[]): { policies: OtherPortsPolicy[]; covered: Set<Protection> } {
  const allow = protections.filter((p) => p.action === 'allow');
  const covered = new Set<Protection>();
  const policies = new Map<string, OtherPortsPolicy>();
  if (!allow.some((p) => p.ports)) return { policies: [], covered };
  const workloads = context.inventory.workloads.filter((w) => w.kind !== 'Pod' && !w.owner);
  const selects = (t: Workloads, labels: Record<string, string>, namespace: string) => (t.namespace === '*' || t.namespace === namespace) && Object.entries(t.labels ?? {}).every(([k, v]) => labels[k] === v);
  for (const w of workloads) {
    const applying = allow.filter((p) => selects(p.target, w.labels, w.namespace));
    for (const p of applying) covered.add(p);
    if (!applying.length || applying.some((p) => !p.ports)) continue;
    const ports = [...new Set(applying.flatMap((p) => p.ports!))].sort((a, b) => a - b);
    const key = `${w.namespace}\u0000${JSON.stringify(Object.entries(w.labels).sort())}\u0000${ports.join(',')}`;
    const policy = policies.get(key) ?? { name: w.name, namespace: w.namespace, labels: w.labels, ports, workloads: [], origins: [...new Set(applying.map((p) => p.origin))] };
    policy.workloads.push(`${w.namespace}/${w.name}`);
    policies.set(key, policy);
  }
  // a selector made of one workload's labels may pick another workload, whose ports differ
  for (const policy of policies.values()) {
    const others = workloads.filter((w) => w.namespace === policy.namespace && !policy.workloads.includes(`${w.namespace}/${w.name}`) && selects({ namespace: policy.namespace, labels: policy.labels }, w.labels, w.namespace));
    if (others.length) notes.push({ at: policy.origins[0]!, effect: 'unknown', text: `The policy allowing the other ports of ${policy.workloads.join(', ')} selects by their labels, which ${others.map((w) => `${w.namespace}/${w.name}`).join(', ')} also carr${others.length === 1 ? 'ies' : 'y'}: it allows their ports other than ${policy.ports.join(', ')} too.` });
  }
  // protections no inventory workload shows: their target decides, as before
  for (const p of allow) if (p.ports && !workloads.some((w) => selects(p.target, w.labels, w.namespace))) covered.delete(p);
  return { policies: [...policies.values()], covered };
}

/**
 * Istio's ALLOW governs every port of a workload, the model's port-limited protections only
 * theirs: calls to the other ports are left to the default, which is to allow. For each target
 * with port-limited allow protections only, the first of them gets a rule allowing every other
 * port (`notPorts`).
 */
function otherPortsRules(protections: readonly Protection[], notes: TranslationNote[]): Map<Protection, Rule> {
  const out = new Map<Protection, Rule>();
  const allow = protections.filter((p) => p.action === 'allow');
  const groups = new Map<string, Protection[]>();
  for (const p of allow) groups.set(keyOf(p.target), [...(groups.get(keyOf(p.target)) ?? []), p]);
  for (const group of groups.values()) {
    if (group.some((p) => !p.ports)) continue;
    const ports = [...new Set(group.flatMap((p) => p.ports!))].sort((a, b) => a - b);
    const first = group[0]!;
    out.set(first, { to: [{ notPorts: ports.map(String) }], comment: `the ports other than ${ports.join(', ')} are not governed by ${group.map((p) => p.name).join(', ')}: allowed, as with no policy` });
    const other = allow.find((q) => !group.includes(q) && overlaps(q.target, first.target));
    if (other) notes.push({ at: first.origin, effect: 'wider', text: `The rule allowing the ports other than ${ports.join(', ')} also allows, on the workloads ${other.name} applies to as well, the calls ${other.name}'s rules would decide.` });
  }
  return out;
}

/** One model rule as one or more Istio rules (none when it cannot be expressed, with a note). */
function ruleOf(rule: AccessRule, p: Protection, context: TranslationContext, notes: TranslationNote[]): Rule[] {
  const consequence = p.action === 'allow' ? { effect: 'narrower' as const, text: 'the translation allows less' } : { effect: 'wider' as const, text: 'the translation denies less' };
  const lose = (why: string): Rule[] => {
    notes.push({ at: rule.origin, effect: consequence.effect, text: `${rule.origin.label} is not written: ${why}, so ${consequence.text}.` });
    return [];
  };
  // from
  let from: Source[] | undefined = [];
  for (const callers of rule.from) {
    const sources = sourcesOf(callers, context);
    if (sources === 'any') { from = undefined; break; }
    from.push(...sources);
  }
  if (rule.from.length === 0) from = undefined;
  else if (from?.length === 0) {
    notes.push({ at: rule.origin, effect: 'same', text: `${rule.origin.label} is not written: its callers name no identity or network, so it matches nothing.` });
    return [];
  }
  // to, narrowed to the protection's ports
  let requests: Requests[] = rule.to;
  if (p.ports) {
    const ports = p.ports;
    requests = (requests.length ? requests : [{}]).map((r) => ({ ...r, ports: r.ports ? r.ports.filter((x) => ports.includes(x)) : [...ports] })).filter((r) => r.ports.length > 0);
    if (requests.length === 0) {
      notes.push({ at: rule.origin, effect: 'same', text: `${rule.origin.label} is not written: it names none of the ports ${ports.join(', ')} its protection governs, so it matches nothing.` });
      return [];
    }
  }
  const operations: { op: Operation | 'any'; http: boolean }[] = [];
  for (const r of requests) {
    const op = operationOf(r);
    if (typeof op === 'string') return lose(op);
    operations.push({ op, http: r.methods !== undefined || r.paths !== undefined });
  }
  // when
  const when: Condition[] = [];
  for (const h of rule.headers) {
    const patterns = h.values.filter((v) => v.startsWith('*') || v.endsWith('*'));
    if (patterns.length) return lose(`header ${h.name} values ${JSON.stringify(patterns)} would be read by Istio as patterns`);
    when.push({ key: `request.headers[${h.name}]`, values: h.values.length ? h.values : ['*'] });
  }
  const comment = `from ${where(rule.origin)}`;
  const make = (to: readonly (Operation | 'any')[], conditions: Condition[]): Rule => ({
    ...(from ? { from } : {}),
    ...(to.length && !to.includes('any') ? { to: to as Operation[] } : {}),
    ...(conditions.length ? { when: conditions } : {}),
    comment,
  });
  const base = (ops: typeof operations): Rule => make(ops.map((o) => o.op), when);
  const httpOnly = when.length > 0 || (operations.length > 0 && operations.every((o) => o.http));
  const mixed = when.length === 0 && operations.some((o) => o.http) && operations.some((o) => !o.http);
  if (p.action === 'allow') {
    // Istio drops an ALLOW rule with an HTTP-only attribute on TCP as a whole: the operations
    // without one go to a rule of their own, as the model lets them match TCP connections
    if (mixed) return [base(operations.filter((o) => o.http)), base(operations.filter((o) => !o.http))];
    return [base(operations)];
  }
  let written: Rule[] | undefined;
  if (rule.unless?.length) {
    const ops = operations.length && !operations.some((o) => o.op === 'any') ? operations.map((o) => o.op) : ['any' as const];
    const alternatives = withoutExceptions({ operations: ops, when }, rule.unless);
    if (typeof alternatives === 'string') {
      notes.push({ at: rule.origin, effect: 'narrower', text: `the requests ${rule.origin.label} leaves to earlier allows are not carried (${alternatives}): the DENY rule denies them too, so the translation allows less.` });
    } else if (alternatives.length === 0) {
      notes.push({ at: rule.origin, effect: 'same', text: `${rule.origin.label} is not written: every request it matches is one that an earlier allow keeps, so it denies nothing.` });
      return [];
    } else {
      written = alternatives.map((a) => make(a.operations, a.when));
    }
  }
  if (httpOnly || mixed) {
    const ports = requests.length && requests.every((r) => r.ports) ? [...new Set(requests.flatMap((r) => r.ports!))] : p.ports;
    const protocol = targetProtocol(context, p.target, ports);
    const what = `on a TCP port Istio matches this DENY rule without its methods, paths and headers, so it denies TCP connections the model's rule does not`;
    if (protocol === 'tcp') notes.push({ at: rule.origin, effect: 'narrower', text: `${what}; the inventory declares a TCP port here.` });
    else if (protocol === 'unknown') notes.push({ at: rule.origin, effect: 'unknown', text: `${what}; whether the target's ports are TCP is not known.` });
  }
  return written ?? [base(operations)];
}

/** A Callers as Istio sources (OR): 'any' when it sets nothing. */
function sourcesOf(callers: Callers, context: TranslationContext): Source[] | 'any' {
  const identityParts: Pick<Source, 'principals' | 'namespaces'>[] = [];
  if (callers.identities) {
    const principals: string[] = [];
    const namespaces: string[] = [];
    for (const id of callers.identities) {
      if (id.serviceAccount === '*' && id.namespace !== '*') namespaces.push(id.namespace);
      else if (id.namespace === '*') principals.push(id.serviceAccount === '*' ? '*' : `*/sa/${id.serviceAccount}`);
      else principals.push(istioPrincipal(context, id));
    }
    if (principals.length) identityParts.push({ principals: [...new Set(principals)] });
    if (namespaces.length) identityParts.push({ namespaces: [...new Set(namespaces)] });
  }
  const networkParts: Pick<Source, 'ipBlocks' | 'notIpBlocks'>[] = [];
  if (callers.networks) {
    const byExcept = new Map<string, { blocks: string[]; except: string[] }>();
    for (const n of callers.networks) {
      const except = [...new Set(n.except)].sort();
      const key = except.join(',');
      const group = byExcept.get(key) ?? { blocks: [], except };
      group.blocks.push(n.cidr);
      byExcept.set(key, group);
    }
    for (const g of byExcept.values()) networkParts.push({ ipBlocks: g.blocks, ...(g.except.length ? { notIpBlocks: g.except } : {}) });
  }
  if (!identityParts.length && !networkParts.length) return callers.identities || callers.networks ? [] : 'any';
  if (callers.identities && !identityParts.length) return [];
  if (callers.networks && !networkParts.length) return [];
  const ids = identityParts.length ? identityParts : [{}];
  const nets = networkParts.length ? networkParts : [{}];
  return ids.flatMap((i) => nets.map((n) => ({ ...i, ...n })));
}

/** A Requests as one Istio operation, 'any' when it sets nothing, or why it cannot be written. */
function operationOf(r: Requests): Operation | 'any' | string {
  const op: Operation = {};
  if (r.ports) op.ports = r.ports.map(String);
  if (r.methods) {
    const patterns = r.methods.filter((m) => m.startsWith('*') || m.endsWith('*'));
    if (patterns.length) return `methods ${JSON.stringify(patterns)} would be read by Istio as patterns`;
    op.methods = r.methods;
  }
  if (r.paths) {
    const paths: string[] = [];
    for (const m of r.paths) {
      const value = istioPath(m);
      if (value === undefined) return `Istio has no path form for the ${m.kind} path ${JSON.stringify(m.value)} (exact values, \`prefix*\`, \`*suffix\` and \`{*}\`/\`{**}\` templates only)`;
      paths.push(value);
    }
    // `*` alone is any path, and requires an HTTP request as the model's path test does
    op.paths = [...new Set(paths)];
  }
  return Object.keys(op).length ? op : 'any';
}

function writeRule(body: YamlWriter, rule: Rule): void {
  if (rule.comment) body.comment(4, rule.comment);
  let first = true;
  const key = (k: string) => {
    body.line(first ? 4 : 6, `${first ? '- ' : ''}${k}:`);
    first = false;
  };
  if (rule.from) {
    key('from');
    for (const s of rule.from) writeItem(body, 'source', s as Record<string, string[] | undefined>);
  }
  if (rule.to) {
    key('to');
    for (const o of rule.to) writeItem(body, 'operation', o as Record<string, string[] | undefined>);
  }
  if (rule.when) {
    key('when');
    for (const w of rule.when) {
      body.line(8, `- key: ${str(w.key)}`);
      if (w.values) body.list(10, 'values', w.values.map((value) => ({ value })));
      if (w.notValues) body.list(10, 'notValues', w.notValues.map((value) => ({ value })));
    }
  }
  if (first) body.line(4, '- {}');
}

function writeItem(body: YamlWriter, kind: string, fields: Record<string, string[] | undefined>): void {
  body.line(8, `- ${kind}:`);
  for (const [k, values] of Object.entries(fields)) if (values) body.list(12, k, values.map((value) => ({ value })));
}

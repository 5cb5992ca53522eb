import { prefixCovers, type IpPrefix } from '../../net/ip';
import { isRecord } from '../../plainValues';
import type { Resource } from '../../resource';
import { compileAuthorizationPolicy } from '../../simulate/istio/compile';
import { parseCidr } from '../../simulate/istio/ip';
import { firstLineRange, resourceRef } from '../../simulate/sourceRefs';
import { inventoryWaypoints } from '../../istio/ambient';
import type { SourceRef } from '../../simulate/types';
import type { SourceFile } from '../../source/sourceFile';
import { locate, type NodePath } from '../../source/tree';
import { resourceValue } from '../../resourceValue';
import { ANY_IDENTITY, type AccessModel, type AccessRule, type Callers, type HeaderCondition, type Identity, type MeshResources, type Network, type Protection, type Requests, type TranslationContext, type TranslationNote } from '../model';
import { pathMatchOf } from './paths';
import { ambientTarget, targetProtocol } from './ports';

/**
 * Istio AuthorizationPolicies (security.istio.io v1 and v1beta1) → the access model
 * (docs/translate/istio.md). ALLOW and DENY policies become protections; what the model cannot
 * carry is left out at the smallest OR-ed part that contains it (a source, an operation, else
 * the rule), with a note at the field: for an ALLOW rule that allows less (`narrower`), for a
 * DENY rule it denies less (`wider`). Values that never match in Istio are left out as `same`.
 */
export function readIstio(resources: MeshResources, context: TranslationContext): AccessModel {
  const protections: Protection[] = [];
  const notes: TranslationNote[] = [];
  resources.forEach(({ file, resource }, order) => {
    if (resource.mesh !== 'istio') return;
    const reader = new PolicyReader(file, resource, context, notes);
    if (resource.kind === 'AuthorizationPolicy') {
      const protection = reader.authorizationPolicy(order);
      if (protection) protections.push(protection);
    } else if (resource.kind === 'PeerAuthentication') reader.peerAuthentication();
    else if (resource.kind === 'RequestAuthentication') reader.requestAuthentication();
  });
  return { mesh: 'istio', protections, notes };
}

type Effect = TranslationNote['effect'];
/** A part of a policy the model cannot carry: where, and why. */
interface Loss { path: NodePath; text: string }
/** A part that never matches in Istio (so leaving it out changes nothing). */
const NEVER = Symbol('never');
type Read<T> = T | typeof NEVER | Loss[];
const isLoss = <T>(r: Read<T>): r is Loss[] => Array.isArray(r) && r.length > 0 && isLossItem(r[0]);
const isLossItem = (x: unknown): boolean => isRecord(x) && 'text' in x && 'path' in x;

class PolicyReader {
  private readonly value: Record<string, unknown>;
  private readonly spec: Record<string, unknown>;
  private readonly namespace: string;
  private readonly name: string;
  private readonly label: string;
  private readonly bundle: string[];

  constructor(private readonly file: SourceFile, private readonly resource: Resource, private readonly context: TranslationContext, private readonly notes: TranslationNote[]) {
    this.value = resourceValue(resource);
    const metadata = isRecord(this.value['metadata']) ? this.value['metadata'] : {};
    this.spec = isRecord(this.value['spec']) ? this.value['spec'] : {};
    this.name = typeof metadata['name'] === 'string' ? metadata['name'] : resource.name ?? '';
    this.namespace = typeof metadata['namespace'] === 'string' && metadata['namespace'] !== '' ? metadata['namespace'] : resource.namespace ?? 'default';
    this.label = `${resource.kind} ${this.namespace}/${this.name}`;
    this.bundle = [context.config.istio.trustDomain, ...context.config.istio.trustDomainAliases];
  }

  private get origin(): SourceRef {
    return resourceRef(this.file, this.resource, this.label);
  }

  /** The place of a field (its key and value), labelled with the policy and the field's path. */
  private ref(path: NodePath): SourceRef {
    const found = locate(this.resource.node, path);
    const label = `${this.label} ${path.slice(1).map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('').replace(/^\./, '')}`;
    if (!found.complete || !found.node) return { ...this.origin, label };
    const range = this.file.lines.range({ start: found.keySpan?.start ?? found.node.span.start, end: found.node.span.end });
    return { file: this.file.path, range, label };
  }

  private note(at: SourceRef, effect: Effect, text: string): void {
    this.notes.push({ at, effect, text });
  }

  peerAuthentication(): void {
    const mtls = isRecord(this.spec['mtls']) ? this.spec['mtls']['mode'] : undefined;
    const portModes = isRecord(this.spec['portLevelMtls']) ? Object.values(this.spec['portLevelMtls']).map((v) => (isRecord(v) ? v['mode'] : undefined)) : [];
    if (mtls === 'STRICT' || portModes.includes('STRICT')) {
      this.note(this.origin, 'wider', 'PeerAuthentication is not translated: Istio rejects plaintext connections where it requires mutual TLS (STRICT), before any authorization; the model says nothing about transport, so a plaintext caller the target mesh accepts and no rule denies is let through.');
    } else if (mtls === 'DISABLE') {
      this.note(this.origin, 'unknown', 'PeerAuthentication DISABLE is not translated: under it callers present no identity in Istio, so rules that require one never match here, while in the target mesh the same callers may present one.');
    } else {
      this.note(this.origin, 'same', 'PeerAuthentication is not translated: in PERMISSIVE mode (the default) a caller with or without mutual TLS reaches authorization, as the model assumes.');
    }
  }

  requestAuthentication(): void {
    this.note(this.origin, 'wider', 'RequestAuthentication is not translated: Istio rejects requests with an invalid token (401) before authorization, and the model has no request identities (JWT).');
  }

  authorizationPolicy(order: number): Protection | undefined {
    const compiled = compileAuthorizationPolicy(this.file, this.resource, order, this.bundle);
    const origin = this.origin;
    if (compiled.rejected) {
      this.note(origin, 'same', `Not translated: ${compiled.rejected}, so it has no effect in Istio.`);
      return undefined;
    }
    const action = compiled.action;
    if (action === 'AUDIT') {
      this.note(origin, 'same', 'AUDIT policy not translated: the other meshes have no audit-only action, and an AUDIT policy changes no verdict in Istio.');
      return undefined;
    }
    if (action === 'CUSTOM') {
      this.note(origin, 'wider', `CUSTOM policy not translated: the other meshes cannot hand a request to an external authorizer (${compiled.provider ?? 'no provider'}); the calls it could deny are left to the other policies.`);
      return undefined;
    }
    if (compiled.dryRun) {
      this.note(origin, 'same', `Dry-run ${action} policy (istio.io/dry-run) not translated: it enforces nothing in Istio. Linkerd's nearest form is an AuthorizationPolicy in audit mode (a Server's accessPolicy: audit).`);
      return undefined;
    }
    const refs = [...(isRecord(this.spec['targetRef']) ? [this.spec['targetRef']] : []), ...(Array.isArray(this.spec['targetRefs']) ? this.spec['targetRefs'] : [])];
    if (refs.length) {
      const kinds = [...new Set(refs.filter(isRecord).map((r) => String(r['kind'] ?? '?')))].join(', ');
      this.note(this.ref(['spec', isRecord(this.spec['targetRef']) ? 'targetRef' : 'targetRefs']), 'wider', `${action} policy attached with targetRefs (${kinds}) not translated: it is enforced by a gateway or a waypoint, which the model has no place for; the calls it ${action === 'ALLOW' ? 'does not allow' : 'denies'} there are left to the other policies.`);
      return undefined;
    }
    const root = this.namespace === this.context.config.istio.rootNamespace;
    const selector = isRecord(this.spec['selector']) ? this.spec['selector']['matchLabels'] : undefined;
    const labels = isRecord(selector) && Object.keys(selector).length ? Object.fromEntries(Object.entries(selector).map(([k, v]) => [k, v === null ? '' : String(v)])) : undefined;
    const target = { namespace: root ? '*' : this.namespace, ...(labels ? { labels } : {}) };
    const rawRules = Array.isArray(this.spec['rules']) ? this.spec['rules'] : [];
    if (action === 'DENY' && rawRules.length === 0) {
      this.note(origin, 'same', 'DENY policy without rules not translated: it matches nothing (istiod rejects it).');
      return undefined;
    }
    if (ambientTarget(this.context, target) && rawRules.some((r) => isRecord(r) && hasHttpAttribute(r))) {
      this.note(origin, 'unknown', 'Read as a sidecar enforces it, but the inventory puts its workloads in ambient mode: there ztunnel drops ALLOW rules with HTTP attributes and ignores those attributes in DENY rules, unless the calls pass a waypoint.');
    }
    const rules: AccessRule[] = [];
    const probes: AccessRule[] = [];
    rawRules.forEach((raw, index) => {
      const path: NodePath = ['spec', 'rules', index];
      const node = locate(this.resource.node, path).node;
      const ruleRef: SourceRef = node ? { file: this.file.path, range: firstLineRange(this.file, node), label: `rules[${index}]` } : { ...origin, label: `rules[${index}]` };
      const error = compiled.rules[index]?.error;
      if (error) {
        this.note(ruleRef, 'same', `rules[${index}] not translated: istiod skips it (${error}).`);
        return;
      }
      const before = this.notes.length;
      const rule = this.rule(raw as Record<string, unknown>, path, ruleRef, action);
      if (this.notes.slice(before).some((n) => n.effect === 'narrower' || n.effect === 'wider')) {
        const probe = this.probeRule(raw as Record<string, unknown>, path, ruleRef, action);
        if (probe) probes.push(probe);
      }
      if (rule) {
        rules.push(rule);
        this.tcpDifference(rule, raw as Record<string, unknown>, target, action, ruleRef);
      }
    });
    return { origin, name: this.name, action: action === 'ALLOW' ? 'allow' : 'deny', target, rules, ...(probes.length ? { probes } : {}) };
  }

  /**
   * A rule that lost a part, read again with only what the model carries and each negative list's
   * values as positive ones: the callers and requests the check must try, since the translation
   * decides them without that part. Its notes are the rule's own, already made.
   */
  private probeRule(raw: Record<string, unknown>, path: NodePath, ref: SourceRef, action: 'ALLOW' | 'DENY'): AccessRule | undefined {
    const merged = (entry: unknown, keep: Record<string, string>): Record<string, unknown> => {
      const out: Record<string, unknown> = {};
      if (!isRecord(entry)) return out;
      for (const [key, positive] of Object.entries(keep)) {
        const values = [...stringList(entry[positive]), ...(key !== positive ? stringList(entry[key]) : [])];
        if (values.length) out[positive] = [...new Set([...stringList(out[positive]), ...values])];
      }
      return out;
    };
    const SOURCE = { principals: 'principals', notPrincipals: 'principals', namespaces: 'namespaces', notNamespaces: 'namespaces', serviceAccounts: 'serviceAccounts', notServiceAccounts: 'serviceAccounts', ipBlocks: 'ipBlocks', notIpBlocks: 'notIpBlocks' };
    const OPERATION = { ports: 'ports', notPorts: 'ports', methods: 'methods', notMethods: 'methods', paths: 'paths', notPaths: 'paths' };
    const relaxed: Record<string, unknown> = {};
    if (Array.isArray(raw['from'])) relaxed['from'] = raw['from'].map((f) => ({ source: merged(isRecord(f) ? f['source'] : undefined, SOURCE) }));
    if (Array.isArray(raw['to'])) {
      relaxed['to'] = raw['to'].map((t) => {
        const operation = merged(isRecord(t) ? t['operation'] : undefined, OPERATION);
        if (stringList(operation['methods']).some((m) => m.startsWith('*') || m.endsWith('*'))) delete operation['methods'];
        return { operation };
      });
    }
    if (Array.isArray(raw['when'])) relaxed['when'] = raw['when'].filter((w) => isRecord(w) && typeof w['key'] === 'string' && w['key'].startsWith('request.headers[') && stringList(w['values']).length > 0 && w['notValues'] === undefined);
    const before = this.notes.length;
    try {
      return this.rule(relaxed, path, ref, action);
    } finally {
      this.notes.length = before;
    }
  }

  private rule(raw: Record<string, unknown>, path: NodePath, ref: SourceRef, action: 'ALLOW' | 'DENY'): AccessRule | undefined {
    const lossEffect: Effect = action === 'ALLOW' ? 'narrower' : 'wider';
    const consequence = action === 'ALLOW' ? 'the translation allows less' : 'the translation denies less';
    const losses = (list: Loss[], what: string) => {
      for (const l of list) this.note(this.ref(l.path), lossEffect, `${l.text}: ${what} is left out, so ${consequence}.`);
    };
    const dropRule = (effect: Effect, why: string): undefined => {
      this.note(ref, effect, `${ref.label} is left out: ${why}${effect === 'same' ? '' : `, so ${consequence}`}.`);
      return undefined;
    };

    // the OR-ed entries of `from` or `to` that can be carried; undefined: none is left (the rule goes)
    const entries = <T>(key: 'from' | 'to', inner: string, read: (value: Record<string, unknown>, at: NodePath) => Read<T>, what: string): T[] | undefined => {
      const raws = Array.isArray(raw[key]) ? raw[key] : [];
      const kept: T[] = [];
      let lost = false;
      raws.forEach((entry, i) => {
        const result = read((entry as Record<string, unknown>)[inner] as Record<string, unknown>, [...path, key, i, inner]);
        if (result === NEVER) return;
        if (isLoss(result)) { losses(result, `${key}[${i}]`); lost = true; return; }
        kept.push(result);
      });
      if (raws.length && !kept.length) return dropRule(lost ? lossEffect : 'same', lost ? `none of its ${what} can be carried` : `none of its ${what} can match in Istio`);
      return kept;
    };
    let from = entries('from', 'source', (v, at) => this.source(v, at), 'sources');
    if (!from) return undefined;
    let to = entries('to', 'operation', (v, at) => this.operation(v, at), 'operations');
    if (!to) return undefined;

    const headers: HeaderCondition[] = [];
    const rawWhen = Array.isArray(raw['when']) ? raw['when'] : [];
    const lostWhen: Loss[] = [];
    for (let i = 0; i < rawWhen.length; i++) {
      const condition = rawWhen[i] as Record<string, unknown>;
      const read = this.condition(condition, [...path, 'when', i]);
      if (isLoss(read)) { lostWhen.push(...read); continue; }
      if (read === NEVER) return dropRule('same', `when[${i}] never matches in Istio`);
      if ('header' in read) headers.push(read.header);
      else if ('identities' in read) {
        if (!from.length) from = [{}];
        from = from.map((c) => ({ ...c, identities: meetAll(c.identities, read.identities) })).filter((c) => c.identities.length > 0);
        if (!from.length) return dropRule('same', `when[${i}] (${read.key}) excludes every caller its sources name`);
      } else if ('networks' in read) {
        if (!from.length) from = [{}];
        if (from.some((c) => c.networks)) { lostWhen.push({ path: [...path, 'when', i], text: `source.ip together with ipBlocks in the same rule cannot be carried` }); continue; }
        from = from.map((c) => ({ ...c, networks: read.networks }));
      } else {
        if (!to.length) to = [{}];
        to = to.map((r) => ({ ...r, ports: r.ports ? r.ports.filter((p) => read.ports.includes(p)) : read.ports })).filter((r) => r.ports.length > 0);
        if (!to.length) return dropRule('same', `when[${i}] (destination.port) excludes every port its operations name`);
      }
    }
    if (lostWhen.length) {
      for (const l of lostWhen) this.note(this.ref(l.path), lossEffect, `${l.text}: the whole rule is left out (its conditions must all hold), so ${consequence}.`);
      return undefined;
    }
    const waypoints = this.waypointsNamed(from);
    if (waypoints.length) {
      this.note(ref, lossEffect, `${ref.label} names the identity of the waypoint ${waypoints.join(', ')}: in Istio the calls that pass a waypoint reach the workload with the waypoint's identity, but the other meshes have no waypoint, so those calls arrive with their callers' own identities, which this rule does not name; ${consequence} (name the callers the waypoint's own policies allow instead).`);
    }
    return { origin: ref, from, to, headers };
  }

  /** The inventory's waypoints whose identity callers name exactly. */
  private waypointsNamed(from: Callers[]): string[] {
    const waypoints = inventoryWaypoints(this.context.inventory);
    return [...new Set(from.flatMap((caller) => (caller.identities ?? []).map((id) => `${id.namespace}/${id.serviceAccount}`)))].filter((id) => waypoints.has(id));
  }

  /** One `from[].source`: its fields are AND-ed, as the model's Callers fields are. */
  private source(source: Record<string, unknown>, path: NodePath): Read<Callers> {
    const losses: Loss[] = [];
    let identities: Identity[] | undefined;
    let never = false;
    const constrain = (list: Identity[] | typeof NEVER) => {
      if (list === NEVER) { never = true; return; }
      identities = meetAll(identities, list);
    };
    for (const key of Object.keys(source)) {
      const values = stringList(source[key]);
      const at: NodePath = [...path, key];
      if (values.length === 0) continue;
      switch (key) {
        case 'principals': {
          const read = this.principals(values, at);
          if (isLoss(read)) losses.push(...read); else constrain(read);
          break;
        }
        case 'namespaces': {
          const read = namespacePatterns(values, at);
          if (isLoss(read)) losses.push(...read); else constrain(read);
          break;
        }
        case 'serviceAccounts':
          constrain(values.map((v) => (v.includes('/') ? { namespace: v.split('/')[0]!, serviceAccount: v.split('/')[1]! } : { namespace: this.namespace, serviceAccount: v })));
          break;
        case 'trustDomains':
          if (values.every((v) => v === '*' || this.bundle.includes(v))) constrain([ANY_IDENTITY]);
          else losses.push({ path: at, text: `trustDomains ${JSON.stringify(values.filter((v) => v !== '*' && !this.bundle.includes(v)))} name a trust domain other than the mesh's (${this.bundle.join(', ')}), which the model cannot carry` });
          break;
        case 'ipBlocks':
        case 'notIpBlocks':
          break;
        default:
          losses.push({ path: at, text: `${key} cannot be carried by the model (${UNCARRIED[key] ?? 'no equivalent'})` });
      }
    }
    const blocks = stringList(source['ipBlocks']);
    const notBlocks = stringList(source['notIpBlocks']);
    let networks: Network[] | undefined;
    if (blocks.length || notBlocks.length) {
      networks = networksOf(blocks.length ? blocks : ['0.0.0.0/0', '::/0'], notBlocks);
      if (networks.length === 0) never = true;
    }
    if (losses.length) return losses;
    if (never || identities?.length === 0) return NEVER;
    return { ...(identities ? { identities } : {}), ...(networks ? { networks } : {}) };
  }

  /** Principal values → identities: exact `<td>/ns/N/sa/S`, `*`, and the prefix and suffix forms that are exactly a namespace or a service account. */
  private principals(values: string[], at: NodePath): Identity[] | typeof NEVER | Loss[] {
    const out: Identity[] = [];
    const losses: Loss[] = [];
    for (const v of values) {
      const id = this.principal(v);
      if (id === NEVER) {
        this.note(this.ref(at), 'same', `principal ${JSON.stringify(v)} is left out: istiod adds \`spiffe://\` to a principal itself, so a value written with it never matches.`);
        continue;
      }
      if (id === undefined) losses.push({ path: at, text: `principal ${JSON.stringify(v)} is not a service account of the mesh's trust domain (${this.bundle.join(', ')}) in a form the model can carry (exact, \`*\`, \`<td>/ns/<ns>/sa/*\`, \`*/sa/<sa>\`)` });
      else out.push(id);
    }
    if (losses.length) return losses;
    return out.length ? dedupe(out) : NEVER;
  }

  private principal(v: string): Identity | typeof NEVER | undefined {
    // istiod adds `spiffe://` itself: a value that has it never matches a peer
    if (v.startsWith('spiffe://')) return NEVER;
    if (v === '*') return ANY_IDENTITY;
    const local = (td: string, expanded: boolean) => this.bundle.includes(td) || (expanded && td === 'cluster.local');
    const name = (s: string | undefined) => s !== undefined && /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(s);
    const parts = v.split('/');
    if (v.startsWith('*')) {
      const rest = v.slice(1).split('/');
      // `*/sa/S` and `*/ns/N/sa/S`: any trust domain, which the model does not carry anyway
      if (rest.length === 3 && rest[0] === '' && rest[1] === 'sa' && name(rest[2])) return { namespace: '*', serviceAccount: rest[2]! };
      if (rest.length === 5 && rest[0] === '' && rest[1] === 'ns' && rest[3] === 'sa' && name(rest[2]) && name(rest[4])) return { namespace: rest[2]!, serviceAccount: rest[4]! };
      return undefined;
    }
    if (v.endsWith('*')) {
      // 5 parts (`td/ns/N/sa/*`) are rewritten per trust domain of the bundle; shorter ones are not
      if (parts.length === 5 && parts[1] === 'ns' && parts[3] === 'sa' && parts[4] === '*' && local(parts[0]!, true) && name(parts[2])) return { namespace: parts[2]!, serviceAccount: '*' };
      if (parts.length === 4 && parts[1] === 'ns' && parts[3] === '*' && local(parts[0]!, false) && name(parts[2])) return { namespace: parts[2]!, serviceAccount: '*' };
      if (parts.length === 2 && parts[1] === '*' && local(parts[0]!, false)) return ANY_IDENTITY;
      return undefined;
    }
    if (parts.length === 5 && parts[1] === 'ns' && parts[3] === 'sa' && local(parts[0]!, true) && name(parts[2]) && name(parts[4])) return { namespace: parts[2]!, serviceAccount: parts[4]! };
    return undefined;
  }

  /** One `to[].operation`. */
  private operation(operation: Record<string, unknown>, path: NodePath): Read<Requests> {
    const losses: Loss[] = [];
    const requests: Requests = {};
    let never = false;
    for (const key of Object.keys(operation)) {
      const values = stringList(operation[key]);
      const at: NodePath = [...path, key];
      if (values.length === 0) continue;
      switch (key) {
        case 'ports':
          requests.ports = [...new Set(values.map(Number))];
          break;
        case 'methods': {
          if (values.includes('*')) break;
          const patterns = values.filter((m) => m.startsWith('*') || m.endsWith('*'));
          if (patterns.length) { losses.push({ path: at, text: `methods ${JSON.stringify(patterns)} are prefix or suffix patterns, which the model cannot carry` }); break; }
          // the proxy answers 400 to a method that is not upper case, so such a value never matches
          const upper = values.filter((m) => m === m.toUpperCase());
          if (upper.length < values.length) this.note(this.ref(at), 'same', `methods ${JSON.stringify(values.filter((m) => m !== m.toUpperCase()))} are left out: Envoy rejects a method that is not upper case before authorization, so they never match.`);
          if (upper.length === 0) never = true;
          else requests.methods = [...new Set(upper)];
          break;
        }
        case 'paths': {
          if (values.includes('*')) break;
          requests.paths = values.map(pathMatchOf);
          break;
        }
        default:
          losses.push({ path: at, text: `${key} cannot be carried by the model (${UNCARRIED[key] ?? 'no equivalent'})` });
      }
    }
    if (losses.length) return losses;
    return never ? NEVER : requests;
  }

  /** One `when` condition: a header, an identity, an address or a port constraint. */
  private condition(condition: Record<string, unknown>, path: NodePath): { header: HeaderCondition } | { identities: Identity[]; key: string } | { networks: Network[] } | { ports: number[] } | typeof NEVER | Loss[] {
    const key = String(condition['key']);
    const values = stringList(condition['values']);
    if (stringList(condition['notValues']).length) return [{ path: [...path, 'notValues'], text: `when ${key} notValues cannot be carried by the model (no negative conditions)` }];
    const header = /^request\.headers\[(.+)\]$/.exec(key);
    if (header) {
      const patterns = values.filter((v) => v !== '*' && (v.startsWith('*') || v.endsWith('*')));
      if (patterns.length) return [{ path: [...path, 'values'], text: `when ${key} values ${JSON.stringify(patterns)} are prefix or suffix patterns, which the model cannot carry` }];
      // `*`: present with any value
      return { header: { name: header[1]!.toLowerCase(), values: values.includes('*') ? [] : [...new Set(values)] } };
    }
    switch (key) {
      case 'source.ip': {
        const networks = networksOf(values, []);
        return networks.length ? { networks } : NEVER;
      }
      case 'source.namespace': {
        const read = namespacePatterns(values, [...path, 'values']);
        return read === NEVER || isLoss(read) ? read : { identities: read, key };
      }
      case 'source.principal': {
        const read = this.principals(values, [...path, 'values']);
        return read === NEVER || isLoss(read) ? read : { identities: read, key };
      }
      case 'source.serviceAccount':
        return { identities: values.map((v) => (v.includes('/') ? { namespace: v.split('/')[0]!, serviceAccount: v.split('/')[1]! } : { namespace: this.namespace, serviceAccount: v })), key };
      case 'destination.port':
        return { ports: [...new Set(values.map(Number))] };
      default:
        return [{ path: [...path, 'key'], text: `when ${key} cannot be carried by the model (${key.startsWith('request.auth') ? 'no request identities (JWT)' : key === 'remote.ip' ? 'no original client addresses' : key === 'destination.ip' ? 'no destination addresses' : 'no equivalent'})` }];
    }
  }

  /**
   * Istio's HTTP-only attributes on a TCP port (spec §1.7): an ALLOW rule that has one never
   * matches a TCP connection, and a DENY rule is matched without them; the model's methods,
   * paths and headers match HTTP requests only. Noted where the two differ, by what the
   * inventory says of the target's ports.
   */
  private tcpDifference(rule: AccessRule, raw: Record<string, unknown>, target: Protection['target'], action: 'ALLOW' | 'DENY', ref: SourceRef): void {
    if (!hasHttpAttribute(raw)) return;
    const httpOnly = (r: Requests) => r.methods !== undefined || r.paths !== undefined;
    const modelMatchesTcp = rule.headers.length === 0 && (rule.to.length === 0 || rule.to.some((r) => !httpOnly(r)));
    if (action === 'ALLOW' && !modelMatchesTcp) return;
    const ports = rule.to.length && rule.to.every((r) => r.ports) ? [...new Set(rule.to.flatMap((r) => r.ports!))] : undefined;
    const protocol = targetProtocol(this.context, target, ports);
    if (protocol === 'http') return;
    const what = action === 'ALLOW'
      ? 'on a TCP port Istio drops this whole ALLOW rule (it has HTTP-only attributes), while the translation allows TCP connections its other parts match'
      : 'on a TCP port Istio matches this DENY rule without its HTTP-only attributes (denying more connections), while the translation\'s methods, paths and headers match HTTP requests only';
    if (protocol === 'tcp') this.note(ref, 'wider', `${what}; the inventory declares a TCP port here.`);
    else this.note(ref, 'unknown', `${what}; whether the target's ports are TCP is not known (declare them with a Service port name or appProtocol).`);
  }
}

/** Why a field has no place in the model. */
const UNCARRIED: Record<string, string> = {
  notPrincipals: 'no negative identity lists',
  notNamespaces: 'no negative identity lists',
  notServiceAccounts: 'no negative identity lists',
  notTrustDomains: 'no negative identity lists',
  requestPrincipals: 'no request identities (JWT)',
  notRequestPrincipals: 'no request identities (JWT)',
  remoteIpBlocks: 'no original client addresses',
  notRemoteIpBlocks: 'no original client addresses',
  hosts: 'no Host header tests',
  notHosts: 'no Host header tests',
  notPorts: 'no negative port lists',
  notMethods: 'no negative method lists',
  notPaths: 'no negative path lists',
};

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v) => v !== null && v !== undefined).map(String) : [];
}

function hasHttpAttribute(raw: Record<string, unknown>): boolean {
  const entries = (key: string, inner: string) => (Array.isArray(raw[key]) ? raw[key] : []).map((e) => (isRecord(e) && isRecord(e[inner]) ? e[inner] : {}));
  if (entries('from', 'source').some((s) => stringList(s['requestPrincipals']).length || stringList(s['notRequestPrincipals']).length)) return true;
  if (entries('to', 'operation').some((o) => ['hosts', 'notHosts', 'methods', 'notMethods', 'paths', 'notPaths'].some((k) => stringList(o[k]).length))) return true;
  return (Array.isArray(raw['when']) ? raw['when'] : []).some((c) => isRecord(c) && typeof c['key'] === 'string' && /^request\.(headers|auth|experimental\.inline)/.test(c['key']));
}

/** Namespace values: exact names, and `*` (any identity). Istio matches `/ns/<v>/` anywhere in the peer identity. */
function namespacePatterns(values: string[], at: NodePath): Identity[] | typeof NEVER | Loss[] {
  const patterns = values.filter((v) => v !== '*' && (v.includes('*') || v.includes('.')));
  if (patterns.length) return [{ path: at, text: `namespaces ${JSON.stringify(patterns)} are patterns (Istio reads \`*\` and \`.\` as regular expression parts), which the model cannot carry` }];
  return dedupe(values.map((v) => (v === '*' ? ANY_IDENTITY : { namespace: v, serviceAccount: '*' })));
}

/** Address blocks less the ones in `except` (Istio's ipBlocks AND NOT notIpBlocks). */
function networksOf(blocks: string[], except: string[]): Network[] {
  const parsed = (text: string): IpPrefix | undefined => {
    // A zone (which Istio drops) is no part of the other meshes' network syntax.
    if (text.includes('%')) return undefined;
    const p = parseCidr(text);
    return typeof p === 'string' ? undefined : p;
  };
  const excluded = except.map((text) => ({ text, prefix: parsed(text) })).filter((e): e is { text: string; prefix: IpPrefix } => e.prefix !== undefined);
  const out: Network[] = [];
  for (const cidr of blocks) {
    const prefix = parsed(cidr);
    if (!prefix) continue;
    if (excluded.some((e) => prefixCovers(e.prefix, prefix))) continue;
    out.push({ cidr, except: excluded.filter((e) => prefixCovers(prefix, e.prefix)).map((e) => e.text) });
  }
  return out;
}

function meet(a: Identity, b: Identity): Identity | undefined {
  const part = (x: string, y: string) => (x === '*' ? y : y === '*' || x === y ? x : undefined);
  const namespace = part(a.namespace, b.namespace);
  const serviceAccount = part(a.serviceAccount, b.serviceAccount);
  return namespace === undefined || serviceAccount === undefined ? undefined : { namespace, serviceAccount };
}

/** The identities in both lists (undefined: no constraint yet). */
function meetAll(a: Identity[] | undefined, b: Identity[]): Identity[] {
  if (!a) return b;
  return dedupe(a.flatMap((x) => b.map((y) => meet(x, y)).filter((i): i is Identity => i !== undefined)));
}

function dedupe(list: Identity[]): Identity[] {
  const seen = new Set<string>();
  return list.filter((i) => {
    const key = `${i.namespace}/${i.serviceAccount}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

import type { Resource } from '../../resource';
import { mtlsModeOf, type MtlsMode } from '../../istio/peerAuthentication';
import type { SourceFile } from '../../source/sourceFile';
import { locate } from '../../source/tree';
import { movingRefs, type CompiledForms } from '../compiledForms';
import type { SourceRef } from '../types';
import { firstLineRange as firstLine } from '../sourceRefs';
import { ENVOY_REFUSES, ISTIOD_SKIPS, compileOperation, compileSource, compileWhen, type CompileContext, type Field } from './fields';
import { isRecord } from '../../plainValues';
import { admissionRefusals } from '../../checks/admission';
import { dryRunAnnotated, readAttachable, type Attachable } from './attachable';
import { installedCrdDrops } from '../../crds/stored';

export type { Attachable, TargetRef } from './attachable';

export type Action = 'ALLOW' | 'DENY' | 'AUDIT' | 'CUSTOM';
export type { MtlsMode };

/** A rule's constraints in one form: OR over `from`, OR over `to`, AND over `when`. */
export interface RuleMatcher {
  /** null = any source. An entry is an AND over its fields; an empty entry matches anything. */
  from: Field[][] | null;
  to: Field[][] | null;
  when: Field[];
}

export interface CompiledRule {
  index: number;
  ref: SourceRef;
  /** Why istiod skips the rule (invalid values), if it does; then every form is null. */
  error: string | undefined;
  /** The rule on an HTTP chain, a TCP chain (sidecar/gateway), and at ztunnel (L4). null = dropped. */
  http: RuleMatcher | null;
  tcp: RuleMatcher | null;
  zt: RuleMatcher | null;
  /** What happens to the rule on TCP / at ztunnel, for the trace. */
  tcpNote: string | undefined;
  ztNote: string | undefined;
  /** Precomputed reason texts. */
  allowReason: string;
  denyReason: string;
  externalReason: string;
  /** Decision outcomes built on first use (evaluate.ts): deny HTTP, deny TCP, allow, external. */
  outcomes: unknown[];
}

export interface CompiledPolicy extends Attachable {
  kind: 'AuthorizationPolicy';
  action: Action;
  provider: string | undefined;
  dryRun: boolean;
  rules: CompiledRule[];
  /** Why Istio refuses to store the policy (`refusalReason`), if it does: then it decides nothing. */
  rejected: string | undefined;
  /** Every problem it is refused for, the first first (empty: admitted). */
  refusals: string[];
  notes: string[];
  noAllowReason: string;
  /** "No ALLOW policy matched" outcomes (HTTP, TCP), built on first use. */
  outcomes: unknown[];
}

export interface CompiledPeerAuthentication extends Attachable {
  kind: 'PeerAuthentication';
  mode: MtlsMode;
  ports: Map<number, MtlsMode>;
  /** Why Istio refuses to store it (`refusalReason`), if it does: then it sets no mode. */
  rejected: string | undefined;
  /** Every problem it is refused for, the first first (empty: admitted). */
  refusals: string[];
}

export interface JwtRule {
  issuer: string;
  audiences: string[];
  spaceDelimitedClaims: string[];
  /** Where the signing keys come from: `jwksUri ...`, `inline jwks`, or undefined (the issuer's OpenID discovery). */
  keys: string | undefined;
}

export interface CompiledRequestAuthentication extends Attachable {
  kind: 'RequestAuthentication';
  jwtRules: JwtRule[];
  /** Why Istio refuses to store it (`refusalReason`), if it does: then it checks no token. */
  rejected: string | undefined;
  /** Every problem it is refused for, the first first (empty: admitted). */
  refusals: string[];
}

/**
 * Why Istio refuses to store a resource with these problems: its first problem, and how many
 * more. The API server (the CRD's schema) refuses some before istiod's validating webhook sees
 * them, and the webhook refuses the rest (and those too: spec §1.9.2, §1.9.4).
 */
export function refusalReason(problems: readonly string[]): string | undefined {
  if (problems.length === 0) return undefined;
  const more = problems.length > 1 ? ` and ${problems.length - 1} more problem${problems.length === 2 ? '' : 's'}` : '';
  return `Istio refuses to store it (${problems[0]}${more})`;
}



/**
 * A source with serviceAccounts beside principals or namespaces, which the CRD's rule and
 * istiod's webhook both refuse (spec §1.9.2 R4; the lint reports it through the schema, MPA0107).
 */
function serviceAccountsWithPrincipals(spec: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const rules = Array.isArray(spec['rules']) ? spec['rules'] : [];
  rules.forEach((rule, r) => {
    const from = isRecord(rule) && Array.isArray(rule['from']) ? rule['from'] : [];
    from.forEach((entry, f) => {
      const source = isRecord(entry) && isRecord(entry['source']) ? entry['source'] : undefined;
      if (!source) return;
      const set = (key: string) => source[key] !== undefined && source[key] !== null;
      if ((set('serviceAccounts') || set('notServiceAccounts')) && ['principals', 'notPrincipals', 'namespaces', 'notNamespaces'].some(set)) {
        problems.push(`rules[${r}].from[${f}].source: cannot set serviceAccounts with namespaces or principals`);
      }
    });
  });
  return problems;
}

const ACTIONS = new Set<Action>(['ALLOW', 'DENY', 'AUDIT', 'CUSTOM']);
/** Compiles an AuthorizationPolicy into per-chain rule matchers (spec §1.3, §1.4, §1.7). */
export function compileAuthorizationPolicy(file: SourceFile, resource: Resource, order: number, trustDomains: readonly string[]): CompiledPolicy {
  const b = readAttachable(file, resource, order);
  const { spec, metadata, problems, ...attach } = b;
  const notes: string[] = [...installedCrdDrops(resource)];
  const rawAction = spec['action'] ?? 'ALLOW';
  let action: Action = 'ALLOW';
  if (typeof rawAction === 'string' && ACTIONS.has(rawAction as Action)) action = rawAction as Action;
  else problems.push(`action ${JSON.stringify(rawAction)} is not one of ALLOW, DENY, AUDIT, CUSTOM`);
  problems.push(...serviceAccountsWithPrincipals(spec));
  // What the lint's admission checks report (the dry-run annotation on AUDIT or CUSTOM, a DENY
  // without rules, CUSTOM without provider, bad values ...: spec §1.9.2).
  problems.push(...admissionRefusals(file, resource, problems));
  const dryRun = (action === 'ALLOW' || action === 'DENY') && dryRunAnnotated(metadata);
  let provider: string | undefined;
  if (action === 'CUSTOM') {
    const p = spec['provider'];
    provider = isRecord(p) && typeof p['name'] === 'string' && p['name'] !== '' ? p['name'] : undefined;
  }
  const ctx: CompileContext = { policyNamespace: attach.namespace, trustDomains };
  const rulesNode = locate(resource.node, ['spec', 'rules']).node;
  const rawRules = Array.isArray(spec['rules']) ? spec['rules'] : [];
  const rules: CompiledRule[] = [];
  const who = `${action} policy ${attach.namespace}/${attach.name}${action === 'CUSTOM' ? ` (provider ${provider ?? 'unset'})` : ''}`;
  rawRules.forEach((raw, index) => {
    const node = rulesNode?.type === 'array' ? rulesNode.items[index] : undefined;
    const ref: SourceRef = node ? { file: file.path, range: firstLine(file, node), label: `rules[${index}]` } : { ...attach.ref, label: `rules[${index}]` };
    rules.push(compileRule(raw, index, ref, action, ctx, who, notes));
  });
  // A rule the simulator cannot read for a reason istiod's validation gives (a null rule or
  // condition, which the schema reports) makes the policy refused too, when nothing above did.
  if (problems.length === 0) problems.push(...rules.flatMap((rule) => (rule.error !== undefined && !rule.error.includes(ENVOY_REFUSES) && !rule.error.includes(ISTIOD_SKIPS) ? [`rules[${rule.index}]: ${rule.error}`] : [])));
  const rejected = refusalReason(problems);
  return {
    kind: 'AuthorizationPolicy',
    name: attach.name, namespace: attach.namespace, selector: attach.selector, targetRefs: attach.targetRefs, ref: attach.ref, label: attach.label, order: attach.order, created: attach.created,
    action, provider, dryRun, rules, rejected, refusals: problems, notes,
    noAllowReason: `denied: no ALLOW policy matches the call (ALLOW policy ${attach.namespace}/${attach.name} applies to the workload, so anything it does not allow is denied)`,
    outcomes: [undefined, undefined],
  };
}

function compileRule(raw: unknown, index: number, ref: SourceRef, action: Action, ctx: CompileContext, who: string, notes: string[]): CompiledRule {
  const reasons = {
    allowReason: `allowed by ${who} rules[${index}]`,
    denyReason: `denied by ${who} rules[${index}]`,
    externalReason: `external decision: ${who} rules[${index}] matches, so the request goes to the external authorizer`,
  };
  const fail = (error: string): CompiledRule => ({ index, ref, error, http: null, tcp: null, zt: null, tcpNote: undefined, ztNote: undefined, ...reasons, outcomes: [undefined, undefined, undefined, undefined] });
  if (!isRecord(raw)) return fail('`rule` must not be nil');
  let from: Field[][] | null = null;
  if (raw['from'] !== undefined && raw['from'] !== null) {
    if (!Array.isArray(raw['from'])) return fail('`from` must be a list');
    if (raw['from'].length > 0) {
      from = [];
      for (let i = 0; i < raw['from'].length; i++) {
        const entry = raw['from'][i];
        if (!isRecord(entry) || !isRecord(entry['source'])) return fail(`from[${i}]: \`from.source\` must not be nil`);
        if (Object.keys(entry['source']).length === 0) return fail(`from[${i}]: \`from.source\` must not be empty`);
        const fields = compileSource(`from[${i}].source`, entry['source'], ctx);
        if (typeof fields === 'string') return fail(`from[${i}].source: ${fields}`);
        from.push(fields);
      }
    }
  }
  let to: Field[][] | null = null;
  if (raw['to'] !== undefined && raw['to'] !== null) {
    if (!Array.isArray(raw['to'])) return fail('`to` must be a list');
    if (raw['to'].length > 0) {
      to = [];
      for (let i = 0; i < raw['to'].length; i++) {
        const entry = raw['to'][i];
        if (!isRecord(entry) || !isRecord(entry['operation'])) return fail(`to[${i}]: \`to.operation\` must not be nil`);
        const fields = compileOperation(`to[${i}].operation`, entry['operation']);
        if (typeof fields === 'string') return fail(`to[${i}].operation: ${fields}`);
        if (fields.length === 0) return fail(`to[${i}]: \`to.operation\` must not be empty`);
        to.push(fields);
      }
    }
  }
  const when: Field[] = [];
  if (raw['when'] !== undefined && raw['when'] !== null) {
    if (!Array.isArray(raw['when'])) return fail('`when` must be a list');
    for (let i = 0; i < raw['when'].length; i++) {
      const condition = raw['when'][i];
      if (!isRecord(condition)) return fail(`when[${i}]: when field cannot be nil`);
      const key = condition['key'];
      if (typeof key !== 'string' || key === '') return fail(`when[${i}]: \`key\` must not be empty`);
      const values = listOf(condition['values']);
      const notValues = listOf(condition['notValues']);
      const fields = compileWhen(i, key, values, notValues, ctx);
      if (typeof fields === 'string') return fail(`when[${i}]: ${fields}`);
      // A condition istiod cannot generate: the ALLOW rule is skipped, any other keeps the rest (model.go `checkError`).
      const skipped = fields.map((f) => f.skipped()).find((why) => why !== undefined);
      if (skipped !== undefined) {
        if (action === 'ALLOW') return fail(`when[${i}]: ${skipped}`);
        notes.push(`rules[${index}] when[${i}]: ${skipped}, and generates the rule without it`);
      }
      when.push(...fields);
    }
  }
  const http: RuleMatcher = { from, to, when };
  const all = [...(from ?? []).flat(), ...(to ?? []).flat(), ...when];
  // TCP chain (spec §1.7): ALLOW drops the whole rule, DENY/AUDIT/CUSTOM drop the HTTP keys.
  let tcp: RuleMatcher | null;
  let tcpNote: string | undefined;
  const httpFields = all.filter((f) => f.http);
  if (httpFields.length === 0) tcp = http;
  else if (action === 'ALLOW') {
    tcp = null;
    tcpNote = `on TCP the whole rule is dropped: ${httpFields[0]!.path} is an HTTP attribute`;
  } else {
    const keep = (f: Field) => !f.http;
    tcp = { from: from && from.map((e) => e.filter(keep)), to: to && to.map((e) => e.filter(keep)), when: when.filter(keep) };
    tcpNote = `on TCP the HTTP attributes ${httpFields.map((f) => f.path).join(', ')} are ignored, so the rule is broader`;
  }
  // ztunnel (spec §1.7 ambient): ALLOW drops the rule; DENY drops HTTP attributes, and a match that
  // loses all its constraints becomes an empty match, which ztunnel never matches. Every `when`
  // condition is a clause of one match of its own (ambient/authorization.go `handleRule`), so a
  // non-L4 condition leaves an empty match that the rule needs: the rule never matches.
  let zt: RuleMatcher | null = null;
  let ztNote: string | undefined;
  const l7 = all.filter((f) => !f.l4);
  if (action === 'ALLOW' || action === 'DENY') {
    if (l7.length === 0) zt = http;
    else if (action === 'ALLOW') ztNote = `at ztunnel the whole rule is dropped: ${l7[0]!.path} is not an L4 attribute`;
    else {
      const keep = (f: Field) => f.l4;
      const prune = (list: Field[][] | null): Field[][] | null | 'empty' => {
        if (!list) return null;
        const kept = list.filter((e) => e.length === 0 || e.some(keep)).map((e) => e.filter(keep));
        return kept.length === 0 ? 'empty' : kept;
      };
      const f2 = prune(from);
      const t2 = prune(to);
      const w2 = when.filter(keep);
      const anyL4 = all.some(keep);
      const l7Condition = when.find((f) => !f.l4);
      if (l7Condition) ztNote = `at ztunnel the rule has no effect: its condition ${l7Condition.path} is not an L4 attribute, and ztunnel matches each condition on its own, which without it is an empty match`;
      else if (f2 === 'empty' || t2 === 'empty' || !anyL4) ztNote = `at ztunnel the rule has no effect: without its non-L4 attributes (${l7.map((f) => f.path).join(', ')}) it is an empty match`;
      else {
        zt = { from: f2, to: t2, when: w2 };
        ztNote = `at ztunnel the non-L4 attributes ${l7.map((f) => f.path).join(', ')} are ignored`;
      }
    }
  }
  if (zt) zt = asZtunnelReadsIt(zt);
  return { index, ref, error: undefined, http, tcp, zt, tcpNote, ztNote, ...reasons, outcomes: [undefined, undefined, undefined, undefined] };
}

/** The rule with each field in the form istiod gives ztunnel (plain string matches), when one differs. */
function asZtunnelReadsIt(m: RuleMatcher): RuleMatcher {
  const differs = (list: Field[]) => list.some((f) => f.ztunnel !== null);
  if (!differs(m.when) && !(m.from ?? []).some(differs) && !(m.to ?? []).some(differs)) return m;
  const convert = (list: Field[]) => list.map((f) => f.ztunnel ?? f);
  return { from: m.from && m.from.map(convert), to: m.to && m.to.map(convert), when: convert(m.when) };
}

function listOf(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.filter((v) => v !== null && v !== undefined).map((v) => String(v));
}

/**
 * Compiles one Istio security resource (undefined for other kinds), through `forms` when given:
 * a resource with the same text at the same place compiles to the same form, whose `order` is
 * then brought up to date (it only orders resources, "oldest first").
 */
export function compileIstioResource(file: SourceFile, resource: Resource, order: number, trustDomains: readonly string[], forms?: CompiledForms): CompiledPolicy | CompiledPeerAuthentication | CompiledRequestAuthentication | undefined {
  let compile: () => CompiledPolicy | CompiledPeerAuthentication | CompiledRequestAuthentication;
  switch (resource.kind) {
    case 'AuthorizationPolicy': compile = () => compileAuthorizationPolicy(file, resource, order, trustDomains); break;
    case 'PeerAuthentication': compile = () => compilePeerAuthentication(file, resource, order); break;
    case 'RequestAuthentication': compile = () => compileRequestAuthentication(file, resource, order); break;
    default: return undefined;
  }
  if (!forms) return compile();
  const form = forms.get(file, resource, trustDomains.join('\n'), compile, MOVE_FORM);
  return form.order === order ? form : { ...form, order };
}

/** Every source ref a compiled Istio resource holds (its rules' refs are the only others). */
function refsOfForm(form: CompiledPolicy | CompiledPeerAuthentication | CompiledRequestAuthentication): SourceRef[] {
  return form.kind === 'AuthorizationPolicy' ? [form.ref, ...form.rules.map((rule) => rule.ref)] : [form.ref];
}
const MOVE_FORM = movingRefs(refsOfForm);

export function compilePeerAuthentication(file: SourceFile, resource: Resource, order: number): CompiledPeerAuthentication {
  const { spec, metadata: _metadata, problems, ...attach } = readAttachable(file, resource, order);
  void _metadata;
  const ports = new Map<number, MtlsMode>();
  const mode = mtlsModeOf(spec['mtls']);
  if (mode === undefined) problems.push('mtls.mode is not one of UNSET, DISABLE, PERMISSIVE, STRICT');
  const portLevel = spec['portLevelMtls'];
  if (portLevel !== undefined && portLevel !== null) {
    // istiod's ValidatePeerAuthentication and the CRD (spec §1.9.4).
    if (attach.selector === null || attach.selector.length === 0) problems.push('mesh/namespace peer authentication cannot have port level mTLS');
    if (!isRecord(portLevel) || Object.keys(portLevel).length === 0) problems.push('port level mTLS, if defined, must have at least one element');
    for (const [port, value] of Object.entries(isRecord(portLevel) ? portLevel : {})) {
      const n = Number(port);
      const portMode = mtlsModeOf(value);
      if (!/^[0-9]+$/.test(port) || n < 1 || n > 65535) problems.push(`port ${port} of portLevelMtls must be in the range 1..65535`);
      else if (portMode === undefined) problems.push(`portLevelMtls.${port}.mode is not one of UNSET, DISABLE, PERMISSIVE, STRICT`);
      else ports.set(n, portMode);
    }
  }
  // What the lint's admission checks report (the dry-run annotation, MPA1001).
  problems.push(...admissionRefusals(file, resource, problems));
  return { kind: 'PeerAuthentication', ...attach, targetRefs: null, mode: mode ?? 'UNSET', ports, rejected: refusalReason(problems), refusals: problems };
}

export function compileRequestAuthentication(file: SourceFile, resource: Resource, order: number): CompiledRequestAuthentication {
  const { spec, metadata: _metadata, problems, ...attach } = readAttachable(file, resource, order);
  void _metadata;
  // What the lint's admission checks report (target kinds, JWT rules, the dry-run annotation: spec §1.9.4).
  problems.push(...admissionRefusals(file, resource, problems));
  const jwtRules: JwtRule[] = [];
  if (Array.isArray(spec['jwtRules'])) {
    for (const rule of spec['jwtRules']) {
      if (!isRecord(rule) || typeof rule['issuer'] !== 'string') continue;
      const keys = typeof rule['jwksUri'] === 'string' ? `jwksUri ${rule['jwksUri']}` : typeof rule['jwks'] === 'string' ? 'inline jwks' : undefined;
      jwtRules.push({ issuer: rule['issuer'], audiences: listOf(rule['audiences']), spaceDelimitedClaims: listOf(rule['spaceDelimitedClaims']), keys });
    }
  }
  return { kind: 'RequestAuthentication', ...attach, jwtRules, rejected: refusalReason(problems), refusals: problems };
}

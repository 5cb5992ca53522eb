import type { WorkspaceView } from '../checks/check';
import type { Resource } from '../resource';
import { getEntry, getScalarString, type NodePath } from '../source/tree';
import { InventoryIndex } from '../inventory/inventoryIndex';
import { plural } from '../schema/messages';
import { policySetOf } from '../simulate';
import { IstioCompiledPolicies, type AttachedPolicy, type EnforcementPoint, type LayerKind, type PeerModeAnswer } from '../simulate/istio';
import type { Action, Attachable, CompiledPolicy } from '../simulate/istio/compile';
import { EVERY_WORKLOAD, type AuthnRow, type AuthnTable, type AuthzListing, type AuthzRow, type AuthzSection, type AuthzTarget, type AuthzUnknown, type MeshAuthz } from './types';
import { distinctRows, fewNames, shortName } from './render';
import { findWorkload } from './workloads';

/**
 * Istio (spec §1.2, §1.3): per proxy a call to the workload passes (its waypoint, for calls
 * through a Service that has one, then its own sidecar, gateway or ztunnel), the
 * AuthorizationPolicies the simulator attaches there, in evaluation order: CUSTOM, DENY, ALLOW,
 * then AUDIT (which only marks calls). Within an action, oldest first: the order does not change
 * the verdict (every policy of an action is OR-ed).
 */
export function istioAuthz(workspace: WorkspaceView): MeshAuthz {
  const compiled = new IstioCompiledPolicies(policySetOf(workspace, 'istio'));
  const index = InventoryIndex.of(workspace.inventory);
  return {
    mesh: 'istio',
    list(target: AuthzTarget): AuthzListing | AuthzUnknown {
      const workload = findWorkload(index, target.namespace, target.name);
      if ('near' in workload) return { mesh: 'istio', unknown: `${target.namespace ?? '(no namespace)'}/${target.name}`, near: workload.near };
      const destination = { namespace: workload.namespace, workload: workload.name, ...(target.port !== undefined ? { port: target.port } : {}) };
      const direct = compiled.enforcementPoints(destination);
      const sections: AuthzSection[] = [];
      const seen = new Set<string>();
      const used: EnforcementPoint[] = [...direct];
      const addWaypoint = (point: EnforcementPoint, via: string): void => {
        used.push(point);
        const key = `${point.why}\u0000${point.policies.map((p) => p.policy.label).join('\u0000')}`;
        if (seen.has(key)) return;
        seen.add(key);
        sections.push(section(`${point.why}, for calls ${via}`, point, compiled.rootNamespace));
      };
      if (direct.length > 1) addWaypoint(direct[0]!, 'addressed to the pod');
      for (const service of index.servicesFor(workload)) {
        const points = compiled.enforcementPoints({ ...destination, service: service.name });
        if (points.length > 1) addWaypoint(points[0]!, `through Service ${service.namespace}/${service.name}`);
      }
      const own = direct[direct.length - 1]!;
      sections.push(section(own.why, own, compiled.rootNamespace));
      const rejected = new Set(used.flatMap((p) => p.rejected));
      const notes = [...rejected].map((p) => `${p.label} would attach but is not in effect: ${p.rejected}`);
      if (target.port !== undefined) notes.push('Istio attaches policies to a workload, not to a port: rules that test ports are part of the rule counts');
      return { mesh: 'istio', target: `${workload.namespace}/${workload.name}`, sections, notes, enrolled: used.some((p) => p.known) };
    },
    mayApply(resource: Resource): (workload: { namespace: string }) => boolean {
      // spec §1.2: the root namespace's resources reach every namespace, and a Gateway or
      // GatewayClass target reaches the calls its waypoint serves, in whichever namespace;
      // otherwise a resource attaches in its own namespace only.
      const namespace = resource.namespace ?? 'default';
      if (namespace === compiled.rootNamespace || targetsGateway(resource)) return EVERY_WORKLOAD;
      return (workload) => workload.namespace === namespace;
    },
    headline(listing: AuthzListing): string {
      const rows = distinctRows(listing);
      // spec §1.3: a workload no ALLOW policy applies to allows what no DENY or CUSTOM policy denies.
      if (!rows.length) return 'Istio: no policy applies: mesh default (allow)';
      return `Istio: ${rows.length} ${rows.length === 1 ? 'policy applies' : 'policies apply'} (${fewNames(rows.map((r) => `${r.role} ${shortName(r.resource)}`), 3)})`;
    },
  };
}

/** Where a Istio resource says what it attaches to (the editor's hover adds the workloads it reaches there). */
export function istioAttachesAt(kind: string, path: NodePath): boolean {
  if (path[0] !== 'spec') return false;
  if (kind === 'PeerAuthentication') return path[1] === 'selector';
  return (kind === 'AuthorizationPolicy' || kind === 'RequestAuthentication') && (path[1] === 'selector' || path[1] === 'targetRef' || path[1] === 'targetRefs');
}

/** Whether a resource's targetRef(s) name something other than a Service or ServiceEntry of its
 * namespace: a Gateway, a GatewayClass (a waypoint may serve other namespaces), or a kind unknown. */
function targetsGateway(resource: Resource): boolean {
  const spec = getEntry(resource.node, 'spec')?.value;
  const single = getEntry(spec, 'targetRef')?.value;
  const list = getEntry(spec, 'targetRefs')?.value;
  const refs = [...(single ? [single] : []), ...(list?.type === 'array' ? list.items : [])];
  return refs.some((ref) => {
    const kind = getScalarString(ref, 'kind');
    return kind !== 'Service' && kind !== 'ServiceEntry';
  });
}

/** CUSTOM → DENY → ALLOW (spec §1.3); AUDIT last, as it decides nothing. */
const ORDER: Record<Action, number> = { CUSTOM: 0, DENY: 1, ALLOW: 2, AUDIT: 3 };

function section(title: string, point: EnforcementPoint, root: string): AuthzSection {
  const attached = [...point.policies].sort((a, b) => ORDER[a.policy.action] - ORDER[b.policy.action] || oldestFirst(a.policy, b.policy));
  const peer = point.peerAuthentication;
  const notes = peer ? [
    ...peer.ignored.map((pa) => `${pa.label} has a workload selector in the root namespace: Istio ignores it`),
    ...peer.rejected.map((pa) => `${pa.label} would apply but is not in effect: ${pa.rejected}`),
    ...(peer.note ? [peer.note] : []),
  ] : [];
  return { title, authentication: authentication(point, root), rows: attached.map((a) => row(a, root, point.kind)), summary: summary(attached), notes };
}

/**
 * What a call meets at this proxy before the AuthorizationPolicies (spec §1.8): the mTLS mode
 * PeerAuthentication sets (workload selector, then namespace, then the root namespace's
 * mesh-wide policy; none: PERMISSIVE), per port where portLevelMtls sets one, and the
 * RequestAuthentications whose JWT rules validate tokens.
 */
function authentication(point: EnforcementPoint, root: string): AuthnTable {
  const rows: AuthnRow[] = [];
  const summary: string[] = [];
  const peer = point.peerAuthentication;
  if (peer) {
    const others = peer.ports.length ? ' (every other port)' : '';
    rows.push(mtlsRow(`${modesText(peer.workload)}${others}`, peer.workload, root));
    for (const { port, mode } of peer.ports) rows.push(mtlsRow(`port ${port}: ${modesText(mode)}`, mode, root));
    summary.push(...mtlsSummary(peer.workload, peer.ports));
  } else {
    summary.push(`PeerAuthentication does not govern ${point.kind === 'waypoint' ? 'a waypoint' : 'a gateway'}'s listener: a call has the peer identity of its own mutual TLS, if any`);
  }
  const enforced = point.requestAuthentications.filter((a) => !a.ignored);
  for (const attached of point.requestAuthentications) {
    const ra = attached.policy;
    const notes = [...(attached.certain ? [] : ['may apply: the workload\'s labels are not known']), ...(attached.ignored ? [attached.ignored] : [])];
    if (!ra.jwtRules.length) rows.push({ role: 'JWT', setting: 'no jwtRules: no issuer is accepted', resource: ra.label, attachment: attachment(ra, root), notes, at: ra.ref });
    for (const rule of ra.jwtRules) {
      const keys = rule.keys ?? 'keys from the issuer\'s OpenID discovery';
      const audiences = rule.audiences.length ? [`audiences ${rule.audiences.join(', ')}`] : [];
      rows.push({ role: 'JWT', setting: `issuer ${rule.issuer}`, resource: ra.label, attachment: attachment(ra, root), notes: [keys, ...audiences, ...notes], at: ra.ref });
    }
  }
  if (enforced.length) {
    const maybe = enforced.every((a) => !a.certain) ? 'if it applies, ' : '';
    summary.push(
      `${maybe}a request with an invalid token (bad signature, expired, or an issuer or audience the JWT rules do not list) is rejected with 401 before authorization, even where no AuthorizationPolicy applies`,
      'a request without a token passes authentication, with no request identity: only an ALLOW policy\'s requestPrincipals (or a DENY policy\'s notRequestPrincipals) make a token required',
    );
  }
  return { rows, summary };
}

const LEVEL: Record<NonNullable<PeerModeAnswer['level']>, (by: Attachable, root: string) => string> = {
  workload: (by) => `workload selector ${(by.selector ?? []).map(([k, v]) => `${k}=${v}`).join(', ')}`,
  namespace: () => 'namespace-wide',
  mesh: (_by, root) => `mesh-wide (root namespace ${root})`,
};

function mtlsRow(setting: string, answer: PeerModeAnswer, root: string): AuthnRow {
  const { by, level } = answer;
  const known = answer.modes.length === 1;
  if (!by || !level) return { role: 'mTLS', setting, resource: '(none)', attachment: known ? 'default: no PeerAuthentication applies' : 'not known', notes: known ? [] : [answer.text] };
  return { role: 'mTLS', setting, resource: by.label, attachment: LEVEL[level](by, root), notes: known ? [] : [answer.text], at: by.ref };
}

function modesText(answer: PeerModeAnswer): string {
  return answer.modes.join(' or ');
}

/** What each mode means for a call (spec §1.8), once per mode, with the ports it holds on when they differ. */
function mtlsSummary(workload: PeerModeAnswer, ports: readonly { port: number; mode: PeerModeAnswer }[]): string[] {
  const byMode = new Map<string, string[]>();
  const add = (answer: PeerModeAnswer, where: string) => {
    for (const mode of answer.modes) {
      const list = byMode.get(mode);
      if (list) list.push(where);
      else byMode.set(mode, [where]);
    }
  };
  add(workload, ports.length ? 'the other ports' : 'every port');
  for (const { port, mode } of ports) add(mode, `port ${port}`);
  const maybe = workload.modes.length > 1 || ports.some((p) => p.mode.modes.length > 1) ? 'may be ' : '';
  return [...byMode].map(([mode, where]) => {
    const scope = byMode.size > 1 || maybe ? ` on ${where.join(', ')}` : '';
    return `mTLS ${maybe}${mode}${scope}: ${MTLS_MEANS[mode]}`;
  });
}

const MTLS_MEANS: Record<string, string> = {
  STRICT: 'a plaintext call is rejected before authorization; every call that gets through has a peer identity',
  PERMISSIVE: 'plaintext calls are accepted with no peer identity, so principals, namespaces and serviceAccounts match only mutual TLS callers',
  DISABLE: 'no call has a peer identity: principals, namespaces and serviceAccounts match no call (their not- forms match every call)',
};

function oldestFirst(a: CompiledPolicy, b: CompiledPolicy): number {
  return a.created && b.created && a.created !== b.created ? (a.created < b.created ? -1 : 1) : a.order - b.order;
}

function row(a: AttachedPolicy, root: string, kind: LayerKind): AuthzRow {
  const p = a.policy;
  const notes: string[] = [];
  if (p.dryRun) notes.push('dry-run (not enforced)');
  if (!a.certain) notes.push(`may apply: ${a.how}`);
  if (a.ignored) notes.push(a.ignored);
  if (p.action === 'CUSTOM') notes.push(`provider ${p.provider ?? '(unset)'}`);
  notes.push(...p.notes);
  const skipped = p.rules.filter((r) => r.error !== undefined).length;
  if (skipped) notes.push(`${plural(skipped, 'rule')} istiod skips (invalid values)`);
  // spec §1.7 (ambient): ztunnel sees L4 only; an ALLOW rule with other attributes is dropped there.
  const dropped = kind === 'ztunnel' && !a.ignored ? p.rules.filter((r) => r.error === undefined && r.zt === null).length : 0;
  if (dropped) notes.push(`ztunnel drops ${plural(dropped, 'rule')} (attributes beyond L4)`);
  const detail = p.rules.length === 0 ? (p.action === 'ALLOW' ? 'no rules: allow-nothing' : 'no rules: matches nothing') : plural(p.rules.length, 'rule');
  return { role: p.action, resource: p.label, attachment: attachment(p, root), detail, notes, at: p.ref };
}

function attachment(p: Attachable, root: string): string {
  if (p.targetRefs) return `targetRefs ${p.targetRefs.map((r) => `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}`).join(', ')}`;
  const scope = p.namespace === root ? 'root namespace' : 'namespace-wide';
  if (p.selector === null) return scope;
  const selector = p.selector.length === 0 ? 'selector {} (every workload)' : `selector ${p.selector.map(([k, v]) => `${k}=${v}`).join(', ')}`;
  return p.namespace === root ? `${scope}, ${selector}` : selector;
}

/** What happens to a call no rule decides (spec §1.3: "has no ALLOW policy" counts enforced ALLOW policies only). */
function summary(attached: readonly AttachedPolicy[]): string[] {
  const allows = attached.filter((a) => a.policy.action === 'ALLOW' && !a.policy.dryRun && !a.ignored);
  const certain = allows.filter((a) => a.certain);
  const out: string[] = [];
  if (certain.length) out.push('ALLOW policies apply: only what a rule allows gets through');
  else if (allows.length) out.push(`ALLOW policies may apply (${allows.map((a) => a.policy.label).join(', ')}): if they do, only what a rule allows gets through`);
  else out.push('no ALLOW policy applies: calls not denied are allowed');
  const nothing = allows.filter((a) => a.policy.rules.length === 0);
  if (nothing.length) out.push(`allow-nothing: ${nothing.map((a) => a.policy.label).join(', ')} ${nothing.length === 1 ? 'has' : 'have'} no rules, so a call is allowed only by another ALLOW policy's rule`);
  if (!allows.length && attached.some((a) => a.policy.action === 'ALLOW' && a.policy.dryRun)) out.push('the dry-run ALLOW policies do not make the workload deny by default');
  return out;
}

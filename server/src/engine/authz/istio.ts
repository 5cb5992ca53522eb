import type { WorkspaceView } from '../checks/check';
import type { NodePath } from '../source/tree';
import { InventoryIndex } from '../inventory/inventoryIndex';
import { plural } from '../schema/messages';
import { policySetOf } from '../simulate';
import { IstioCompiledPolicies, type AttachedPolicy, type EnforcementPoint, type LayerKind } from '../simulate/istio';
import type { Action, CompiledPolicy } from '../simulate/istio/compile';
import type { AuthzListing, AuthzRow, AuthzSection, AuthzTarget, AuthzUnknown, MeshAuthz } from './types';
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
      const notes = [...rejected].map((p) => `${p.label} would attach but is not applied: ${p.rejected}`);
      if (target.port !== undefined) notes.push('Istio attaches policies to a workload, not to a port: rules that test ports are part of the rule counts');
      return { mesh: 'istio', target: `${workload.namespace}/${workload.name}`, sections, notes, enrolled: used.some((p) => p.known) };
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
  return kind === 'AuthorizationPolicy' && path[0] === 'spec' && (path[1] === 'selector' || path[1] === 'targetRef' || path[1] === 'targetRefs');
}

/** CUSTOM → DENY → ALLOW (spec §1.3); AUDIT last, as it decides nothing. */
const ORDER: Record<Action, number> = { CUSTOM: 0, DENY: 1, ALLOW: 2, AUDIT: 3 };

function section(title: string, point: EnforcementPoint, root: string): AuthzSection {
  const attached = [...point.policies].sort((a, b) => ORDER[a.policy.action] - ORDER[b.policy.action] || oldestFirst(a.policy, b.policy));
  return { title, rows: attached.map((a) => row(a, root, point.kind)), summary: summary(attached), notes: [] };
}

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

function attachment(p: CompiledPolicy, root: string): string {
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

import type { NodePath } from '../source/tree';
import type { Check, CheckContext } from './check';

/**
 * The `status` a resource carries when it comes from the cluster (`kubectl get -o yaml`): each
 * mesh's controller writes there whether it took the resource, as conditions of the Kubernetes
 * form `{type, status: "True" | "False" | "Unknown", reason, message}`. A condition whose status
 * is "False" says the controller did not take the resource as written (istioctl analyze reports
 * these as IST0171 NegativeConditionStatus): Istio's `ZtunnelAccepted` and `WaypointAccepted`
 * (ambient), consul-k8s's `Synced`, Gateway API routes' `Accepted` and `ResolvedRefs` per parent
 * (Linkerd's HTTPRoute and GRPCRoute). "Unknown" (not yet decided) is not reported.
 */
interface NegativeCondition {
  /** The condition's `status` value. */
  path: NodePath;
  type: string;
  reason?: string;
  message?: string;
  /** For a route's per-parent conditions: the parent, as `Kind name`. */
  parent?: string;
}

function negativeConditions(value: Record<string, unknown>): NegativeCondition[] {
  const status = record(value['status']);
  if (!status) return [];
  const found = conditionsAt(status['conditions'], ['status', 'conditions']);
  const parents = status['parents'];
  if (Array.isArray(parents)) {
    parents.forEach((entry, i) => {
      const parent = record(entry);
      const ref = record(parent?.['parentRef']);
      const name = typeof ref?.['name'] === 'string' ? `${typeof ref['kind'] === 'string' ? ref['kind'] : 'Gateway'} ${ref['name']}` : undefined;
      for (const condition of conditionsAt(parent?.['conditions'], ['status', 'parents', i, 'conditions'])) found.push({ ...condition, ...(name ? { parent: name } : {}) });
    });
  }
  return found;
}

function conditionsAt(list: unknown, path: NodePath): NegativeCondition[] {
  if (!Array.isArray(list)) return [];
  return list.flatMap((entry, i) => {
    const condition = record(entry);
    if (!condition || condition['status'] !== 'False' || typeof condition['type'] !== 'string') return [];
    return [{
      path: [...path, i, 'status'], type: condition['type'],
      ...(typeof condition['reason'] === 'string' && condition['reason'] ? { reason: condition['reason'] } : {}),
      ...(typeof condition['message'] === 'string' && condition['message'] ? { message: condition['message'] } : {}),
    }];
  });
}

function record(value: unknown): Record<string, unknown> | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** One finding per negative condition, in the words of the controller that wrote it. */
function reportNegativeConditions(context: CheckContext, controller: string): void {
  for (const c of negativeConditions(context.value)) {
    const said = `${c.reason ? ` (${c.reason})` : ''}${c.message ? `: ${c.message.trim().replace(/\.$/, '')}` : ''}`;
    context.report({ path: c.path }, `${controller} reported ${c.type} False${c.parent ? ` for parent ${c.parent}` : ''}${said}; the cluster had not taken the resource as written when this status was saved with it`);
  }
}

/** The check of one mesh: its code, kinds and controller, the rest shared. */
export function negativeConditionCheck(options: Pick<Check, 'code' | 'mesh' | 'kinds' | 'upstream'> & { controller: string }): Check {
  const { controller, ...check } = options;
  return {
    ...check,
    title: 'The status saved with the resource says the cluster did not take it',
    defaultSeverity: 'warning',
    run: (context) => reportNegativeConditions(context, controller),
  };
}

import type { AccessRecord } from '../../traffic/accessRecord';
import { LINKERD_AUDIT_ALLOWED } from '../../traffic/formats/linkerdProxyEvents';
import type { Decision } from '../types';

/**
 * When the proxy's log says only an audit-mode authorization admitted the call (its audit
 * `Request allowed` event, detail `linkerd_audit_allowed`) and the simulation finds an enforced
 * authorization that admits it: the deployed policies are not the workspace's (usually an
 * authorization was added since, which is what audit mode is for). Undefined when they agree,
 * when the log says nothing of audit, or when the simulation does not allow the call (a denial
 * is then a change of verdict, counted as such).
 */
export function linkerdObservedDifference(decision: Decision, record: AccessRecord): string | undefined {
  if (record.response?.details !== LINKERD_AUDIT_ALLOWED) return undefined;
  if (decision.verdict !== 'allow' || decision.audited) return undefined;
  return `observed: allowed only by audit mode (the proxy logged an audit "Request allowed": the deployed policies did not authorize it); simulated: ${decision.reason}`;
}
